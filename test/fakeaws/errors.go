package fakeaws

import (
	"net/http"

	"github.com/aws-assume-deploy/aws-assume-deploy/test/fakeaws/fakecore"
)

const (
	msgTokenNotValidated = "The web identity token that was passed could not be validated by AWS. " +
		"Get a new identity token from the identity provider and then retry the request."
)

func newAPIError(status int, code, message string) *fakecore.APIError {
	return fakecore.NewAPIError(status, code, message)
}

func errInvalidClientToken() *fakecore.APIError {
	return &fakecore.APIError{Status: http.StatusForbidden, Code: "InvalidClientTokenId", Message: fakecore.MsgInvalidToken}
}

func errMissingAuth() *fakecore.APIError {
	return newAPIError(0, "MissingAuthenticationToken", "")
}

func errValidation(msg string) *fakecore.APIError {
	return &fakecore.APIError{Status: http.StatusBadRequest, Code: "ValidationError", Message: msg}
}

func errAccessDenied(msg string) *fakecore.APIError {
	return &fakecore.APIError{Status: http.StatusForbidden, Code: "AccessDenied", Message: msg}
}

// writeError answers e in the format service's clients parse.
func (s *Server) writeError(w http.ResponseWriter, service string, e *fakecore.APIError) {
	id := s.requestID()
	switch service {
	case "oidc":
		fakecore.NoteError(w, e.Code)
		fakecore.WriteJSON(w, e.Status, map[string]string{"message": e.Message})
	case "s3":
		fakecore.WriteRESTError(w, nil, e, "", id)
	default:
		xmlns := ""
		if service == "sts" {
			xmlns = stsNamespace
		}
		fakecore.WriteQueryError(w, e, xmlns, id)
	}
}

func writeXML(w http.ResponseWriter, status int, v any) { fakecore.WriteXML(w, status, v, true) }
