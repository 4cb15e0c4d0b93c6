package cfn

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Parameter names in errors and logs.
//
// A secret in parameter-overrides (DbPassword=${{ secrets.DB }}) is masked
// by the runner only as a whole. A value holding a separator that is not
// quoted (Pa55,w0rdPart=Tail) is split by the parser into pieces, and a
// piece becomes the "key" or the value of an item of its own; printing it
// would print part of the secret in clear. So:
//   - the parsers name items by position ("item 3"), never by key or value;
//   - a key is printed only when it is certainly a parameter name: the
//     template declares it, or the stack already has it;
//   - every other given key is replaced by its position in whatever the
//     deploy prints, AWS messages and stack events included; and the values
//     of such items, and of the item before each (the head of a split
//     value), are replaced by "***".
//
// itemRef and itemRefs format positions; paramNames applies the rule.

// itemRef names item i (0-based) of an input list.
func itemRef(i int) string { return "item " + strconv.Itoa(i+1) }

// itemIndex is the 0-based position in the input of ps[i]: its K=V item
// (a repeated key joins the first item of that key), or its place in JSON.
func itemIndex(ps []Parameter, i int) int {
	if ps[i].Item > 0 {
		return ps[i].Item - 1
	}
	return i
}

// paramRef names ps[i] by position; the second K=V item also by the first
// item's key, which nothing can have split off a value.
func paramRef(ps []Parameter, i int) string {
	if p := ps[i]; p.Item == 2 && p.After != "" {
		return "item 2 (after " + p.After + ")"
	}
	return itemRef(itemIndex(ps, i))
}

// itemRefs names items (0-based) as "item 3" or "items 3 and 5".
func itemRefs(idx []int) string {
	if len(idx) == 1 {
		return itemRef(idx[0])
	}
	parts := make([]string, len(idx))
	for i, n := range idx {
		parts[i] = strconv.Itoa(n + 1)
	}
	return "items " + strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
}

// quoteHint is the fix for an item that may be a piece of the value before
// it.
const quoteHint = `if it is part of the value before it, quote that value (Key='a,b' or Key="a,b") or repeat the key for a list (Key=a,Key=b)`

// minRedactedValue is the shortest value replaced in printed text: shorter
// ones would garble ordinary words and tell little.
const minRedactedValue = 4

// paramNames decides how the parameters of one deploy may be printed.
type paramNames struct {
	given []Parameter
	known map[string]bool
}

// newParamNames starts with the names the template declares, when known.
func newParamNames(ps []Parameter, t Template) *paramNames {
	n := &paramNames{given: ps, known: map[string]bool{}}
	if t.ParametersKnown {
		for _, k := range t.Parameters {
			n.known[k] = true
		}
	}
	return n
}

// learn adds names known to be parameters (the stack's current ones).
func (n *paramNames) learn(keys ...string) {
	for _, k := range keys {
		n.known[k] = true
	}
}

// show returns key as it may be printed: itself when certain, else its
// position.
func (n *paramNames) show(key string) string {
	if n.known[key] {
		return key
	}
	if i := slices.IndexFunc(n.given, func(p Parameter) bool { return p.Key == key }); i >= 0 {
		return itemRef(itemIndex(n.given, i)) + " of parameter-overrides"
	}
	return key
}

// allKnown reports whether every given key may be printed.
func (n *paramNames) allKnown() bool {
	for _, p := range n.given {
		if !n.known[p.Key] {
			return false
		}
	}
	return true
}

// redact replaces, in text to be printed, every given key that is not
// certain with its position, and the values that may be pieces of a split
// value with "***" (both from minRedactedValue characters on).
func (n *paramNames) redact(text string) string {
	if n == nil || len(n.given) == 0 {
		return text
	}
	var values []string
	for i, p := range n.given {
		if n.known[p.Key] || i == 0 {
			continue
		}
		for _, v := range []string{p.Value, n.given[i-1].Value} {
			if len(v) >= minRedactedValue {
				values = append(values, v)
			}
		}
	}
	// Longest first, so a value containing another is replaced whole.
	slices.SortFunc(values, func(a, b string) int { return len(b) - len(a) })
	for _, v := range values {
		text = strings.ReplaceAll(text, v, "***")
	}
	for i, p := range n.given {
		// Shorter keys would garble ordinary words, as for values.
		if !n.known[p.Key] && len(p.Key) >= minRedactedValue {
			text = replaceWord(text, p.Key, itemRef(itemIndex(n.given, i))+" of parameter-overrides")
		}
	}
	return text
}

// replaceWord replaces each occurrence of word in s that is not part of a
// longer run of letters and digits (parameter names are alphanumeric).
func replaceWord(s, word, with string) string {
	var b strings.Builder
	for {
		i := strings.Index(s, word)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		end := i + len(word)
		bounded := (i == 0 || !isAlnum(s[i-1])) && (end == len(s) || !isAlnum(s[end]))
		b.WriteString(s[:i])
		if bounded {
			b.WriteString(with)
		} else {
			b.WriteString(word)
		}
		s = s[end:]
	}
}

func isAlnum(c byte) bool { return isLetter(c) || isDigit(c) }

// redactingLog applies the rule to every line the deploy prints.
type redactingLog struct {
	Logger
	n *paramNames
}

func (l redactingLog) Infof(format string, args ...any) {
	l.Logger.Infof("%s", l.n.redact(fmt.Sprintf(format, args...)))
}

func (l redactingLog) Debugf(format string, args ...any) {
	l.Logger.Debugf("%s", l.n.redact(fmt.Sprintf(format, args...)))
}

func (l redactingLog) Warningf(format string, args ...any) {
	l.Logger.Warningf("%s", l.n.redact(fmt.Sprintf(format, args...)))
}

func (l redactingLog) Group(title string) func() { return l.Logger.Group(l.n.redact(title)) }

// redactedError shows err with the rule applied; errors.As and errors.Is
// still reach the cause.
type redactedError struct {
	err error
	n   *paramNames
}

func (e redactedError) Error() string { return e.n.redact(e.err.Error()) }

func (e redactedError) Unwrap() error { return e.err }
