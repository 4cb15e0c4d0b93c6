package fakecfn

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"time"
)

type stack struct {
	id, name, region, account string
	status, reason            string
	created, updated          time.Time
	deletedAt                 time.Time
	tmpl                      *template // nil while REVIEW_IN_PROGRESS
	params                    map[string]string
	outputs                   []outputValue
	tags                      []tag
	roleARN                   string
	notificationARNs          []string
	capabilities              []string
	terminationProtection     bool
	disableRollback           bool
	physical                  map[string]string // logical id -> physical id of existing resources
	events                    []*event          // oldest first
	steps                     []step            // pending, in time order
	terminalAt                time.Time
	changeSetID               string
}

type outputValue struct {
	Key, Value, Description, ExportName string
}

type tag struct{ Key, Value string }

type event struct {
	seq                                  int64
	id                                   string
	at                                   time.Time
	logical, physical, rtype             string
	status, reason                       string
	stackID, stackName, clientRequestTok string
}

// step is a scheduled state change; the timeline is applied lazily by advance.
type step struct {
	at    time.Time
	apply func(st *stack, at time.Time)
}

type changeSet struct {
	id, name, csType, description string
	st                            *stack
	created, readyAt              time.Time
	stuck                         bool
	failReason                    string
	tmpl                          *template
	params                        map[string]string
	changes                       []change
	tags                          []tag
	roleARN                       string
	notificationARNs              []string
	capabilities                  []string
	execStatus                    string // set once executed
	includeNested                 bool
	deploymentMode                string
	clientToken                   string
	parent, root                  *changeSet // set for nested change sets
	deleted                       bool
}

type change struct {
	Action, LogicalID, PhysicalID, Type, Replacement string
	Scope                                            []string
	// PolicyAction is what happens to the physical resource (Delete, Retain,
	// ReplaceAndDelete, ...), for removals and replacements.
	PolicyAction string
	// Props are the changed properties of a Modify.
	Props []propertyChange
	// Before and After are the resolved properties, for the contexts.
	Before, After map[string]any
	// Nested is the nested change set of an AWS::CloudFormation::Stack.
	Nested *changeSet
}

// status computes the change set's Status lazily from the clock.
func (cs *changeSet) status(now time.Time) string {
	if cs.root != nil {
		return cs.root.status(now)
	}
	if cs.stuck {
		return "CREATE_PENDING"
	}
	if now.Before(cs.readyAt) {
		if now.Before(cs.created.Add(cs.readyAt.Sub(cs.created) / 2)) {
			return "CREATE_PENDING"
		}
		return "CREATE_IN_PROGRESS"
	}
	if cs.failReason != "" {
		return "FAILED"
	}
	return "CREATE_COMPLETE"
}

func (cs *changeSet) statusReason(now time.Time) string {
	if cs.root != nil {
		return cs.root.statusReason(now)
	}
	if cs.status(now) == "FAILED" {
		return cs.failReason
	}
	return ""
}

func (cs *changeSet) executionStatus(now time.Time) string {
	if cs.root != nil {
		return cs.root.executionStatus(now)
	}
	if cs.execStatus != "" {
		return cs.execStatus
	}
	if cs.status(now) == "CREATE_COMPLETE" {
		return "AVAILABLE"
	}
	return "UNAVAILABLE"
}

// advance applies every scheduled step due at now.
func (c *CloudFormation) advance(now time.Time) {
	for _, st := range c.stacks {
		for len(st.steps) > 0 && !st.steps[0].at.After(now) {
			s := st.steps[0]
			st.steps = st.steps[1:]
			s.apply(st, s.at)
		}
	}
}

// schedule appends steps to the stack's timeline, keeping it in time order.
func (st *stack) schedule(steps ...step) {
	st.steps = append(st.steps, steps...)
	sort.SliceStable(st.steps, func(i, j int) bool { return st.steps[i].at.Before(st.steps[j].at) })
}

func (c *CloudFormation) addEvent(st *stack, at time.Time, logical, physical, rtype, status, reason string) {
	c.eventSeq++
	// Resource events get AWS's "Logical-STATUS-time" ids, stack events a
	// UUID; a repeat (same resource, status and time) gets a UUID so ids stay unique.
	id := newUUID()
	if logical != st.name {
		if cand := fmt.Sprintf("%s-%s-%s", logical, status, isoTime(at)); !st.hasEvent(cand) {
			id = cand
		}
	}
	st.events = append(st.events, &event{
		seq: c.eventSeq, id: id, at: at, logical: logical, physical: physical, rtype: rtype,
		status: status, reason: reason, stackID: st.id, stackName: st.name,
	})
}

func (st *stack) hasEvent(id string) bool {
	for _, e := range st.events {
		if e.id == id {
			return true
		}
	}
	return false
}

// setStatus changes the stack status and logs the stack-level event.
func (c *CloudFormation) setStatus(st *stack, at time.Time, status, reason string) {
	st.status, st.reason = status, reason
	c.addEvent(st, at, st.name, st.id, "AWS::CloudFormation::Stack", status, reason)
	if isTerminal(status) {
		st.terminalAt = at
	}
	if status == "DELETE_COMPLETE" {
		st.deletedAt = at
	}
}

func isTerminal(status string) bool {
	return !strings.HasSuffix(status, "_IN_PROGRESS")
}

// updatable reports whether a stack in status may take an UPDATE change set.
func updatable(status string) bool {
	switch status {
	case "CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "IMPORT_COMPLETE", "IMPORT_ROLLBACK_COMPLETE", "UPDATE_FAILED", "CREATE_FAILED":
		return true
	}
	return false
}

func (c *CloudFormation) stackARN(region, account, name string) string {
	return fmt.Sprintf("arn:aws:cloudformation:%s:%s:stack/%s/%s", region, account, name, newUUID())
}

// findStack resolves a name (live stacks only) or a stack ARN (any stack).
func (c *CloudFormation) findStack(nameOrID string) *stack {
	if strings.HasPrefix(nameOrID, "arn:") {
		for _, st := range c.stacks {
			if st.id == nameOrID {
				return st
			}
		}
		return nil
	}
	for _, st := range c.stacks {
		if st.name == nameOrID && st.status != "DELETE_COMPLETE" {
			return st
		}
	}
	return nil
}

// findStackAny is findStack that also finds the latest deleted stack of a name.
func (c *CloudFormation) findStackAny(nameOrID string) *stack {
	if st := c.findStack(nameOrID); st != nil {
		return st
	}
	for i := len(c.stacks) - 1; i >= 0; i-- {
		if c.stacks[i].name == nameOrID {
			return c.stacks[i]
		}
	}
	return nil
}

func (c *CloudFormation) mustStack(nameOrID string) (*stack, error) {
	if nameOrID == "" {
		return nil, validationError("1 validation error detected: Value null at 'stackName' failed to satisfy constraint: Member must not be null")
	}
	st := c.findStack(nameOrID)
	if st == nil {
		return nil, validationError("Stack with id %s does not exist", nameOrID)
	}
	return st, nil
}

// physicalID derives a stable, AWS-looking physical id.
func physicalID(st *stack, logical string) string {
	sum := sha256.Sum256([]byte(st.id + "/" + logical))
	return fmt.Sprintf("%s-%s-%s", st.name, logical, strings.ToUpper(hex.EncodeToString(sum[:])[:12]))
}

func (st *stack) resolveCtx(tmpl *template, params, physical map[string]string) resolveCtx {
	types := map[string]string{}
	for _, r := range tmpl.Resources {
		types[r.ID] = r.Type
	}
	return resolveCtx{params: params, physical: physical, types: types, stackName: st.name, stackID: st.id, region: st.region, account: st.account}
}

// computeOutputs evaluates the template's outputs, then applies overrides.
func (st *stack) computeOutputs(tmpl *template, params, physical, overrides map[string]string) []outputValue {
	ctx := st.resolveCtx(tmpl, params, physical)
	var out []outputValue
	seen := map[string]bool{}
	for _, o := range tmpl.Outputs {
		v := ctx.resolve(o.Value, o.Name)
		if ov, ok := overrides[o.Name]; ok {
			v = ov
		}
		exp := o.ExportName
		if exp != "" {
			exp = ctx.sub(exp)
		}
		out = append(out, outputValue{Key: o.Name, Value: v, Description: o.Description, ExportName: exp})
		seen[o.Name] = true
	}
	var extra []string
	for k := range overrides {
		if !seen[k] {
			extra = append(extra, k)
		}
	}
	sort.Strings(extra)
	for _, k := range extra {
		out = append(out, outputValue{Key: k, Value: overrides[k]})
	}
	return out
}

// workItem is one resource touched by an operation.
type workItem struct {
	res        templateResource
	action     string // CREATE, UPDATE or DELETE (ResourceStatus prefix)
	physical   string
	start, end time.Time
}

// planOperation schedules the events and states of executing cs.
func (c *CloudFormation) planOperation(cs *changeSet, sc Script, disableRollback bool, t0 time.Time) {
	st := cs.st
	create := cs.csType == "CREATE"
	verb := "UPDATE"
	if create {
		verb = "CREATE"
	}
	oldTmpl, oldParams, oldPhysical := st.tmpl, st.params, st.physical

	// Resources created or updated, in template order; removals come at cleanup.
	var work []*workItem
	var removals []templateResource
	for _, ch := range cs.changes {
		switch ch.Action {
		case "Add", "Modify":
			res, _ := cs.tmpl.resource(ch.LogicalID)
			a := "CREATE"
			phys := physicalID(st, ch.LogicalID)
			if ch.Action == "Modify" {
				a, phys = "UPDATE", ch.PhysicalID
			}
			work = append(work, &workItem{res: res, action: a, physical: phys})
		case "Remove":
			if oldTmpl != nil {
				res, _ := oldTmpl.resource(ch.LogicalID)
				removals = append(removals, res)
			}
		}
	}
	d := sc.StackOperationDelay
	n := time.Duration(len(work))
	for i, w := range work {
		w.start = t0.Add(d * time.Duration(i) / (n + 1))
		w.end = t0.Add(d * time.Duration(i+1) / (n + 1))
		if rt, ok := sc.ResourceTimings[w.res.ID]; ok {
			w.start, w.end = t0.Add(rt.Start), t0.Add(rt.End)
		}
	}
	end := t0.Add(d)
	for _, w := range work {
		if w.end.After(end) {
			end = w.end
		}
	}

	// The first failing resource (by end time) decides the outcome.
	var failed *workItem
	for _, w := range work {
		if _, ok := sc.FailResources[w.res.ID]; ok && (failed == nil || w.end.Before(failed.end)) {
			failed = w
		}
	}
	if sc.StuckInProgress {
		failed = nil
	}

	var steps []step
	steps = append(steps, step{at: t0, apply: func(st *stack, at time.Time) {
		st.terminalAt = time.Time{}
		if !create {
			st.updated = at
		}
		c.setStatus(st, at, verb+"_IN_PROGRESS", "User Initiated")
	}})
	for _, w := range work {
		w := w
		if failed != nil && !w.start.Before(failed.end) && w != failed {
			continue // never started
		}
		initiated := "Resource creation Initiated"
		if w.action == "UPDATE" {
			initiated = ""
		}
		steps = append(steps, step{at: w.start, apply: func(st *stack, at time.Time) {
			first := w.physical
			if w.action == "CREATE" {
				first = ""
			}
			c.addEvent(st, at, w.res.ID, first, w.res.Type, w.action+"_IN_PROGRESS", "")
			if initiated != "" {
				c.addEvent(st, at, w.res.ID, w.physical, w.res.Type, w.action+"_IN_PROGRESS", initiated)
			}
		}})
		if sc.StuckInProgress {
			continue
		}
		switch {
		case failed == nil || w.end.Before(failed.end):
			steps = append(steps, step{at: w.end, apply: func(st *stack, at time.Time) {
				c.addEvent(st, at, w.res.ID, w.physical, w.res.Type, w.action+"_COMPLETE", "")
			}})
		case w == failed:
			reason := sc.FailResources[w.res.ID]
			steps = append(steps, step{at: w.end, apply: func(st *stack, at time.Time) {
				c.addEvent(st, at, w.res.ID, w.physical, w.res.Type, w.action+"_FAILED", reason)
			}})
		default: // still running when the failure hit
			steps = append(steps, step{at: failed.end, apply: func(st *stack, at time.Time) {
				c.addEvent(st, at, w.res.ID, w.physical, w.res.Type, w.action+"_FAILED", "Resource "+strings.ToLower(w.action[:1])+strings.ToLower(w.action[1:])+" cancelled")
			}})
		}
	}
	if sc.StuckInProgress {
		st.schedule(steps...)
		return
	}

	if failed == nil {
		steps = append(steps, c.successSteps(cs, sc, removals, end)...)
		st.schedule(steps...)
		return
	}

	// Failure: roll back (or stop, with DisableRollback).
	tf := failed.end
	failVerb := "create"
	if failed.action == "UPDATE" {
		failVerb = "update"
	}
	why := fmt.Sprintf("The following resource(s) failed to %s: [%s]. ", failVerb, failed.res.ID)
	started := []*workItem{}
	for _, w := range work {
		if w.start.Before(tf) || w == failed {
			started = append(started, w)
		}
	}
	if disableRollback {
		steps = append(steps, step{at: tf, apply: func(st *stack, at time.Time) {
			st.tmpl, st.params = cs.tmpl, cs.params
			phys := cloneMap(oldPhysical)
			if phys == nil {
				phys = map[string]string{}
			}
			for _, w := range started {
				if w != failed {
					phys[w.res.ID] = w.physical
				}
			}
			st.physical = phys
			cs.execStatus = "EXECUTE_FAILED"
			c.setStatus(st, at, verb+"_FAILED", why)
		}})
		st.schedule(steps...)
		return
	}
	rb := sc.RollbackDelay
	if create {
		steps = append(steps, step{at: tf, apply: func(st *stack, at time.Time) {
			c.setStatus(st, at, "ROLLBACK_IN_PROGRESS", why+"Rollback requested by user.")
		}})
		for i := len(started) - 1; i >= 0; i-- {
			w := started[i]
			k := time.Duration(len(started) - i)
			at := tf.Add(rb * k / time.Duration(len(started)+1))
			steps = append(steps, step{at: at, apply: func(st *stack, at time.Time) {
				c.addEvent(st, at, w.res.ID, w.physical, w.res.Type, "DELETE_IN_PROGRESS", "")
				c.addEvent(st, at, w.res.ID, w.physical, w.res.Type, "DELETE_COMPLETE", "")
			}})
		}
		steps = append(steps, step{at: tf.Add(rb), apply: func(st *stack, at time.Time) {
			st.tmpl, st.params, st.physical, st.outputs = cs.tmpl, cs.params, map[string]string{}, nil
			cs.execStatus = "EXECUTE_FAILED"
			c.setStatus(st, at, "ROLLBACK_COMPLETE", "")
		}})
		st.schedule(steps...)
		return
	}
	steps = append(steps, step{at: tf, apply: func(st *stack, at time.Time) {
		c.setStatus(st, at, "UPDATE_ROLLBACK_IN_PROGRESS", why)
	}})
	for i := len(started) - 1; i >= 0; i-- {
		w := started[i]
		if w.action != "UPDATE" {
			continue
		}
		at := tf.Add(rb / 2 * time.Duration(len(started)-i) / time.Duration(len(started)+1))
		steps = append(steps, step{at: at, apply: func(st *stack, at time.Time) {
			c.addEvent(st, at, w.res.ID, w.physical, w.res.Type, "UPDATE_IN_PROGRESS", "")
			c.addEvent(st, at, w.res.ID, w.physical, w.res.Type, "UPDATE_COMPLETE", "")
		}})
	}
	steps = append(steps, step{at: tf.Add(rb / 2), apply: func(st *stack, at time.Time) {
		c.setStatus(st, at, "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS", "")
		for _, w := range started {
			if w.action == "CREATE" {
				c.addEvent(st, at, w.res.ID, w.physical, w.res.Type, "DELETE_IN_PROGRESS", "")
				c.addEvent(st, at, w.res.ID, w.physical, w.res.Type, "DELETE_COMPLETE", "")
			}
		}
	}})
	steps = append(steps, step{at: tf.Add(rb), apply: func(st *stack, at time.Time) {
		// Old template, parameters and outputs stay: they were never replaced.
		st.tmpl, st.params, st.physical = oldTmpl, oldParams, oldPhysical
		cs.execStatus = "EXECUTE_FAILED"
		c.setStatus(st, at, "UPDATE_ROLLBACK_COMPLETE", "")
	}})
	st.schedule(steps...)
}

// successSteps finishes a create or update at end: cleanup, commit, COMPLETE.
func (c *CloudFormation) successSteps(cs *changeSet, sc Script, removals []templateResource, end time.Time) []step {
	create := cs.csType == "CREATE"
	commit := func(st *stack) {
		phys := cloneMap(st.physical)
		if phys == nil || create {
			phys = map[string]string{}
		}
		for _, ch := range cs.changes {
			switch ch.Action {
			case "Add":
				phys[ch.LogicalID] = physicalID(st, ch.LogicalID)
			case "Remove":
				delete(phys, ch.LogicalID)
			}
		}
		st.tmpl, st.params, st.physical = cs.tmpl, cs.params, phys
		st.outputs = st.computeOutputs(cs.tmpl, cs.params, phys, sc.Outputs)
		cs.execStatus = "EXECUTE_COMPLETE"
	}
	if create {
		return []step{{at: end, apply: func(st *stack, at time.Time) {
			commit(st)
			c.setStatus(st, at, "CREATE_COMPLETE", "")
		}}}
	}
	return []step{{at: end, apply: func(st *stack, at time.Time) {
		c.setStatus(st, at, "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", "")
		for _, r := range removals {
			phys := st.physical[r.ID]
			c.addEvent(st, at, r.ID, phys, r.Type, "DELETE_IN_PROGRESS", "")
			c.addEvent(st, at, r.ID, phys, r.Type, "DELETE_COMPLETE", "")
		}
		commit(st)
		c.setStatus(st, at, "UPDATE_COMPLETE", "")
	}}}
}

// planDelete schedules DeleteStack's events and states.
func (c *CloudFormation) planDelete(st *stack, sc Script, t0 time.Time) {
	st.steps = nil // a delete cancels whatever was still scheduled
	var res []templateResource
	if st.tmpl != nil {
		for _, r := range st.tmpl.Resources {
			if _, ok := st.physical[r.ID]; ok {
				res = append(res, r)
			}
		}
	}
	d := sc.DeleteDelay
	steps := []step{{at: t0, apply: func(st *stack, at time.Time) {
		st.terminalAt = time.Time{}
		c.setStatus(st, at, "DELETE_IN_PROGRESS", "User Initiated")
	}}}
	for i := len(res) - 1; i >= 0; i-- {
		r := res[i]
		at := t0.Add(d * time.Duration(len(res)-i) / time.Duration(len(res)+1))
		steps = append(steps, step{at: at, apply: func(st *stack, at time.Time) {
			phys := st.physical[r.ID]
			c.addEvent(st, at, r.ID, phys, r.Type, "DELETE_IN_PROGRESS", "")
			if sc.FailDeleteReason == "" {
				c.addEvent(st, at, r.ID, phys, r.Type, "DELETE_COMPLETE", "")
				delete(st.physical, r.ID)
			}
		}})
	}
	steps = append(steps, step{at: t0.Add(d), apply: func(st *stack, at time.Time) {
		if sc.FailDeleteReason != "" {
			c.setStatus(st, at, "DELETE_FAILED", sc.FailDeleteReason)
			return
		}
		c.setStatus(st, at, "DELETE_COMPLETE", "")
		for _, cs := range c.changeSets {
			if cs.st == st {
				cs.deleted = true
			}
		}
	}})
	st.schedule(steps...)
}
