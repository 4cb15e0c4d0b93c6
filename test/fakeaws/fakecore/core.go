// Package fakecore is what every fake under test/fakeaws shares: the [Fault]
// that changes how calls are answered, the [CallLog] that records them,
// AWS-shaped [APIError]s, a [TokenBucket] throttle, a manual [Clock] and a
// listener that only ever binds 127.0.0.1.
//
// Each fake is an [http.Handler] configured with functional options
// (optFns ...func(*Options)), as the aws-sdk-go-v2 clients are; it embeds a
// *CallLog, so Calls, CallsTo and Count read the same way on every fake, and
// it has InjectFault(action, Fault).
package fakecore

import "time"

// Defaults every fake uses when its options leave them empty.
const (
	DefaultAccountID = "123456789012"
	DefaultRegion    = "us-east-1"
)

// Header names the fakeaws router sets on requests it hands to mounted
// handlers (the fake CloudFormation and S3). The router removes
// client-supplied values first, so a mounted handler can trust them.
const (
	HeaderCallerARN = "X-Fakeaws-Caller-Arn"
	HeaderAccount   = "X-Fakeaws-Account"
)

// AnyAction makes a fault apply to whichever call comes next; as a query it
// matches every action.
const AnyAction = "*"

// Credentials are temporary AWS credentials, as one fake hands them out and
// another (the fake STS) accepts them.
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	Expiration      time.Time
}
