package fakecore

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
)

// APIError is an error answered the way AWS answers it: an HTTP status and an
// error code with a message.
type APIError struct {
	Status  int
	Code    string
	Message string
}

// Error implements error.
func (e *APIError) Error() string { return fmt.Sprintf("%s: %s", e.Code, e.Message) }

// defaultErrors gives the status and message AWS uses for each code, so a
// Fault naming only a Code still looks real.
var defaultErrors = map[string]APIError{
	"Throttling":         {http.StatusBadRequest, "", "Rate exceeded"},
	"InternalFailure":    {http.StatusInternalServerError, "", "The request processing has failed because of an unknown error, exception or failure."},
	"InternalError":      {http.StatusInternalServerError, "", "We encountered an internal error. Please try again."},
	"ServiceUnavailable": {http.StatusServiceUnavailable, "", "The request has failed due to a temporary failure of the server."},
	"IDPCommunicationError": {http.StatusBadRequest, "", "The request could not be fulfilled because the non-AWS identity provider (IDP) that was asked to verify the incoming identity token could not be reached. " +
		"This is often a transient error caused by network conditions."},
	"InvalidIdentityToken":       {http.StatusBadRequest, "", MsgNoVerificationKey},
	"ExpiredTokenException":      {http.StatusBadRequest, "", "Token expired: current date/time 1700000300 must be before the expiration date/time 1700000000"},
	"AccessDenied":               {http.StatusForbidden, "", "Not authorized to perform sts:AssumeRoleWithWebIdentity"},
	"RegionDisabledException":    {http.StatusForbidden, "", "STS is not activated in this region for account:" + DefaultAccountID + ". Your account administrator can activate STS in this region using the IAM Console."},
	"PackedPolicyTooLarge":       {http.StatusBadRequest, "", "Packed policy consumes 112% of allotted space, please use smaller policy."},
	"InvalidClientTokenId":       {http.StatusForbidden, "", MsgInvalidToken},
	"SignatureDoesNotMatch":      {http.StatusForbidden, "", MsgSignatureMismatch},
	"ExpiredToken":               {http.StatusForbidden, "", "The security token included in the request is expired"},
	"IDPRejectedClaim":           {http.StatusForbidden, "", "The identity provider rejected the claims in the token."},
	"MalformedPolicyDocument":    {http.StatusBadRequest, "", "The policy is not in the valid JSON format."},
	"ValidationError":            {http.StatusBadRequest, "", "1 validation error detected"},
	"MissingAuthenticationToken": {http.StatusForbidden, "", "Request is missing Authentication Token"},
}

// AWS's messages that more than one fake answers with.
const (
	MsgInvalidToken      = "The security token included in the request is invalid."
	MsgSignatureMismatch = "The request signature we calculated does not match the signature you provided. " +
		"Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	MsgNoVerificationKey = "Couldn't retrieve verification key from your identity provider, " +
		"please reference AssumeRoleWithWebIdentity documentation for requirements"
)

// DefaultError returns AWS's status and message for code, if the table has it.
func DefaultError(code string) (APIError, bool) {
	d, ok := defaultErrors[code]
	d.Code = code
	return d, ok
}

// NewAPIError fills the status and message AWS uses for code where unset.
// Without a code, the status text stands in for one.
func NewAPIError(status int, code, message string) *APIError {
	d, ok := defaultErrors[code]
	if status == 0 {
		status = http.StatusBadRequest
		if ok {
			status = d.Status
		}
	}
	if message == "" && ok {
		message = d.Message
	}
	if code == "" {
		code = http.StatusText(status)
	}
	return &APIError{Status: status, Code: code, Message: message}
}

// ThrottlingError is the answer of a throttled AWS call: 400 Throttling
// "Rate exceeded".
func ThrottlingError() *APIError { return NewAPIError(0, "Throttling", "") }

// queryErrorXML is the awsquery error document (STS, CloudFormation, IAM).
type queryErrorXML struct {
	XMLName xml.Name `xml:"ErrorResponse"`
	Xmlns   string   `xml:"xmlns,attr,omitempty"`
	Error   struct {
		Type    string
		Code    string
		Message string
	}
	RequestID string `xml:"RequestId"`
}

// WriteQueryError answers e as an awsquery service does (STS,
// CloudFormation); xmlns may be empty.
func WriteQueryError(w http.ResponseWriter, e *APIError, xmlns, requestID string) {
	NoteError(w, e.Code)
	var doc queryErrorXML
	doc.Xmlns = xmlns
	doc.Error.Type = "Sender"
	if e.Status >= 500 {
		doc.Error.Type = "Receiver"
	}
	doc.Error.Code, doc.Error.Message, doc.RequestID = e.Code, e.Message, requestID
	w.Header().Set("x-amzn-RequestId", requestID)
	WriteXML(w, e.Status, doc, false)
}

// restErrorXML is the REST-XML error document (S3).
type restErrorXML struct {
	XMLName   xml.Name `xml:"Error"`
	Code      string
	Message   string
	Key       string `xml:",omitempty"`
	RequestID string `xml:"RequestId"`
}

// WriteRESTError answers e as S3 does; key may be empty. A HEAD request gets
// the status only.
func WriteRESTError(w http.ResponseWriter, r *http.Request, e *APIError, key, requestID string) {
	NoteError(w, e.Code)
	w.Header().Set("x-amz-request-id", requestID)
	if r != nil && r.Method == http.MethodHead {
		w.WriteHeader(e.Status)
		return
	}
	WriteXML(w, e.Status, restErrorXML{Code: e.Code, Message: e.Message, Key: key, RequestID: requestID}, true)
}

// WriteXML writes v as an XML document; header adds the <?xml ...?> line.
func WriteXML(w http.ResponseWriter, status int, v any, header bool) {
	out, err := xml.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	if header {
		w.Write([]byte(xml.Header)) //nolint:errcheck // client gone
	}
	w.Write(out) //nolint:errcheck // client gone
}

// WriteJSON writes v as JSON with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v) //nolint:errcheck // client gone
}
