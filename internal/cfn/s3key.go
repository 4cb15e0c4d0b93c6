package cfn

import (
	"errors"
	"fmt"
	"path"
	"strings"
	"unicode"
)

// maxS3PrefixLen leaves room in S3's 1,024-byte key for the template's
// file name (stack name, hash and suffix).
const maxS3PrefixLen = 800

// ValidS3Prefix checks the s3-prefix input: a key prefix inside the bucket,
// given without leading or trailing slashes. Segments "." and "..", empty
// segments, backslashes and control characters are refused: S3 keeps them
// literally, but tools that treat keys as paths (the console's folders,
// aws s3 sync, a bucket policy written for PREFIX/*) resolve them
// elsewhere, so the template would land outside the prefix the deploy role
// and the reviewers expect.
func ValidS3Prefix(p string) error {
	if p == "" {
		return nil
	}
	if len(p) > maxS3PrefixLen {
		return fmt.Errorf("is %d bytes long; keep it under %d", len(p), maxS3PrefixLen)
	}
	for _, r := range p {
		if r == '\\' || unicode.IsControl(r) {
			return errors.New(`contains a backslash or a control character: use letters, digits and "/", "-", "_", "." (e.g. cloudformation/app)`)
		}
	}
	for _, seg := range strings.Split(p, "/") {
		switch seg {
		case "..", ".":
			return fmt.Errorf(`has a %q segment, which would put the template outside the prefix: give a plain key prefix such as cloudformation/app`, seg)
		case "":
			return errors.New(`has an empty segment ("//"): give a plain key prefix such as cloudformation/app`)
		}
	}
	return nil
}

// templateKey is the object key of an uploaded template: under prefix, named
// after the stack and the body's hash, so re-runs reuse the object. It
// refuses a prefix ValidS3Prefix would refuse, in case a caller skipped it.
func templateKey(prefix, stack string, sum []byte) (string, error) {
	prefix = strings.Trim(prefix, "/")
	if err := ValidS3Prefix(prefix); err != nil {
		return "", fmt.Errorf("s3 prefix %q %w", prefix, err)
	}
	key := path.Join(prefix, fmt.Sprintf("%s-%x.template", stack, sum))
	if key != path.Clean(key) || strings.HasPrefix(key, "../") || strings.HasPrefix(key, "/") {
		return "", fmt.Errorf("s3 key %q is not clean", key)
	}
	return key, nil
}
