package fakeaws

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
	"ServiceUnavailable": {http.StatusServiceUnavailable, "", "The request has failed due to a temporary failure of the server."},
	"IDPCommunicationError": {http.StatusBadRequest, "", "The request could not be fulfilled because the non-AWS identity provider (IDP) that was asked to verify the incoming identity token could not be reached. " +
		"This is often a transient error caused by network conditions."},
	"InvalidIdentityToken":       {http.StatusBadRequest, "", msgNoVerificationKey},
	"ExpiredTokenException":      {http.StatusBadRequest, "", "Token expired: current date/time 1700000300 must be before the expiration date/time 1700000000"},
	"AccessDenied":               {http.StatusForbidden, "", "Not authorized to perform sts:AssumeRoleWithWebIdentity"},
	"RegionDisabledException":    {http.StatusForbidden, "", "STS is not activated in this region for account:" + DefaultAccountID + ". Your account administrator can activate STS in this region using the IAM Console."},
	"PackedPolicyTooLarge":       {http.StatusBadRequest, "", "Packed policy consumes 112% of allotted space, please use smaller policy."},
	"InvalidClientTokenId":       {http.StatusForbidden, "", msgInvalidToken},
	"SignatureDoesNotMatch":      {http.StatusForbidden, "", msgSignatureMismatch},
	"ExpiredToken":               {http.StatusForbidden, "", "The security token included in the request is expired"},
	"IDPRejectedClaim":           {http.StatusForbidden, "", "The identity provider rejected the claims in the token."},
	"MalformedPolicyDocument":    {http.StatusBadRequest, "", "The policy is not in the valid JSON format."},
	"ValidationError":            {http.StatusBadRequest, "", "1 validation error detected"},
	"MissingAuthenticationToken": {http.StatusForbidden, "", "Request is missing Authentication Token"},
}

const (
	msgInvalidToken      = "The security token included in the request is invalid."
	msgSignatureMismatch = "The request signature we calculated does not match the signature you provided. " +
		"Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	msgNoVerificationKey = "Couldn't retrieve verification key from your identity provider, " +
		"please reference AssumeRoleWithWebIdentity documentation for requirements"
	msgTokenNotValidated = "The web identity token that was passed could not be validated by AWS. " +
		"Get a new identity token from the identity provider and then retry the request."
)

// newAPIError fills the status and message AWS uses for code where unset.
func newAPIError(status int, code, message string) *APIError {
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

func errInvalidClientToken() *APIError {
	return &APIError{Status: http.StatusForbidden, Code: "InvalidClientTokenId", Message: msgInvalidToken}
}

func errMissingAuth() *APIError {
	return newAPIError(0, "MissingAuthenticationToken", "")
}

func errValidation(msg string) *APIError {
	return &APIError{Status: http.StatusBadRequest, Code: "ValidationError", Message: msg}
}

func errAccessDenied(msg string) *APIError {
	return &APIError{Status: http.StatusForbidden, Code: "AccessDenied", Message: msg}
}

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

// restErrorXML is the REST-XML error document (S3).
type restErrorXML struct {
	XMLName   xml.Name `xml:"Error"`
	Code      string
	Message   string
	RequestID string `xml:"RequestId"`
}

// writeError answers e in the format service's clients parse.
func (s *Server) writeError(w http.ResponseWriter, service string, e *APIError) {
	id := s.requestID()
	switch service {
	case "oidc":
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(e.Status)
		json.NewEncoder(w).Encode(map[string]string{"message": e.Message}) //nolint:errcheck // client gone
	case "s3":
		var doc restErrorXML
		doc.Code, doc.Message, doc.RequestID = e.Code, e.Message, id
		w.Header().Set("x-amz-request-id", id)
		writeXML(w, e.Status, doc)
	default:
		var doc queryErrorXML
		if service == "sts" {
			doc.Xmlns = stsNamespace
		}
		doc.Error.Type = "Sender"
		if e.Status >= 500 {
			doc.Error.Type = "Receiver"
		}
		doc.Error.Code, doc.Error.Message, doc.RequestID = e.Code, e.Message, id
		w.Header().Set("x-amzn-RequestId", id)
		writeXML(w, e.Status, doc)
	}
}

func writeXML(w http.ResponseWriter, status int, v any) {
	out, err := xml.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	w.Write([]byte(xml.Header)) //nolint:errcheck // client gone
	w.Write(out)                //nolint:errcheck // client gone
}
