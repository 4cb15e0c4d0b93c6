package fakeaws

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws-assume-deploy/aws-assume-deploy/test/fakeaws/fakecore"
)

const (
	stsVersion   = "2011-06-15"
	stsNamespace = "https://sts.amazonaws.com/doc/2011-06-15/"
)

// Role is an IAM role and the parts of its trust policy the fake models.
type Role struct {
	Name string
	// MaxSessionDuration caps DurationSeconds (default 1 h, as in IAM).
	MaxSessionDuration time.Duration

	// TrustedUsers are the IAM users allowed sts:AssumeRole; empty means any
	// user of the account.
	TrustedUsers []string
	// TrustedRoles are the roles whose sessions may chain into this one;
	// empty means any role of the account.
	TrustedRoles []string
	// NoUserTrust removes the AWS principal from the trust policy, so only
	// AssumeRoleWithWebIdentity works (the usual OIDC deploy role).
	NoUserTrust bool
	// ExternalID, if set, is required by the trust policy (sts:ExternalId).
	ExternalID string
	// AllowTagSession grants sts:TagSession; without it session tags are
	// denied.
	AllowTagSession bool
	// MaxTags, if positive, makes more tags than this fail with
	// PackedPolicyTooLarge, standing in for the packed size limit.
	MaxTags int

	// Audience is the token.actions.githubusercontent.com:aud the role
	// trusts; empty means the role does not trust the OIDC provider.
	Audience string
	// SubPatterns are StringLike patterns (* and ?) for the sub claim.
	SubPatterns []string
}

type roleEntry struct {
	Role
	id string // AROA...
}

type user struct {
	name, id, secret string
}

// session is an issued set of temporary credentials.
type session struct {
	accessKeyID, secret, token string
	expiration                 time.Time
	roleName, roleID           string
	sessionName, arn           string
}

// AddUser seeds an IAM user with a long-term access key.
func (s *Server) AddUser(name, accessKeyID, secret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[accessKeyID] = &user{name: name, id: "AIDA" + s.randStringLocked(upperAlnum, 17), secret: secret}
}

// AddRole adds or replaces a role.
func (s *Server) AddRole(r Role) {
	if r.MaxSessionDuration == 0 {
		r.MaxSessionDuration = time.Hour
	}
	r.TrustedUsers = slices.Clone(r.TrustedUsers)
	r.TrustedRoles = slices.Clone(r.TrustedRoles)
	r.SubPatterns = slices.Clone(r.SubPatterns)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.roles[r.Name] = &roleEntry{Role: r, id: "AROA" + s.randStringLocked(upperAlnum, 17)}
}

// UserARN is the ARN of IAM user name in the server's account.
func (s *Server) UserARN(name string) string {
	return fmt.Sprintf("arn:aws:iam::%s:user/%s", s.opts.AccountID, name)
}

// RoleARN is the ARN of role name in the server's account.
func (s *Server) RoleARN(name string) string {
	return fmt.Sprintf("arn:aws:iam::%s:role/%s", s.opts.AccountID, name)
}

func (s *Server) userARN(name string) string { return s.UserARN(name) }

// WebIdentityJTIs lists the jti of every web identity token sent to
// AssumeRoleWithWebIdentity, in order, including calls a fault answered.
func (s *Server) WebIdentityJTIs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.jtis)
}

func (s *Server) serveSTS(w http.ResponseWriter, r *http.Request, form url.Values, caller *principal) {
	action := form.Get("Action")
	if v := form.Get("Version"); v != stsVersion {
		s.writeError(w, "sts", &fakecore.APIError{Status: http.StatusBadRequest, Code: "InvalidAction",
			Message: fmt.Sprintf("Could not find operation %s for version %s", action, v)})
		return
	}
	var (
		resp   any
		apiErr *fakecore.APIError
	)
	switch action {
	case AssumeRoleWithWebIdentity:
		// The one STS call that is sent unsigned.
		resp, apiErr = s.assumeRoleWithWebIdentity(form)
	case "AssumeRole", "GetCallerIdentity":
		if caller == nil {
			apiErr = errMissingAuth()
			break
		}
		if action == "AssumeRole" {
			resp, apiErr = s.assumeRole(form, caller)
		} else {
			resp = s.getCallerIdentity(caller)
		}
	default:
		apiErr = &fakecore.APIError{Status: http.StatusBadRequest, Code: "InvalidAction",
			Message: fmt.Sprintf("Could not find operation %s for version %s", action, stsVersion)}
	}
	if apiErr != nil {
		s.writeError(w, "sts", apiErr)
		return
	}
	id := s.requestID()
	w.Header().Set("x-amzn-RequestId", id)
	switch v := resp.(type) {
	case *assumeRoleResponse:
		v.Meta.RequestID = id
	case *webIdentityResponse:
		v.Meta.RequestID = id
	case *callerIdentityResponse:
		v.Meta.RequestID = id
	}
	writeXML(w, http.StatusOK, resp)
}

// AssumeRoleWithWebIdentity is the STS action name, also a fault key.
const AssumeRoleWithWebIdentity = "AssumeRoleWithWebIdentity"

type responseMetadata struct {
	RequestID string `xml:"RequestId"`
}

type credentialsXML struct {
	AccessKeyID     string `xml:"AccessKeyId"`
	SecretAccessKey string
	SessionToken    string
	Expiration      string
}

type assumedRoleUserXML struct {
	AssumedRoleID string `xml:"AssumedRoleId"`
	Arn           string
}

type assumeRoleResponse struct {
	XMLName xml.Name `xml:"https://sts.amazonaws.com/doc/2011-06-15/ AssumeRoleResponse"`
	Result  struct {
		Credentials      *credentialsXML
		AssumedRoleUser  assumedRoleUserXML
		PackedPolicySize int    `xml:",omitempty"`
		SourceIdentity   string `xml:",omitempty"`
	} `xml:"AssumeRoleResult"`
	Meta responseMetadata `xml:"ResponseMetadata"`
}

type webIdentityResponse struct {
	XMLName xml.Name `xml:"https://sts.amazonaws.com/doc/2011-06-15/ AssumeRoleWithWebIdentityResponse"`
	Result  struct {
		Credentials                 *credentialsXML
		SubjectFromWebIdentityToken string
		AssumedRoleUser             assumedRoleUserXML
		PackedPolicySize            int `xml:",omitempty"`
		Provider                    string
		Audience                    string
	} `xml:"AssumeRoleWithWebIdentityResult"`
	Meta responseMetadata `xml:"ResponseMetadata"`
}

type callerIdentityResponse struct {
	XMLName xml.Name `xml:"https://sts.amazonaws.com/doc/2011-06-15/ GetCallerIdentityResponse"`
	Result  struct {
		Arn     string
		UserID  string `xml:"UserId"`
		Account string
	} `xml:"GetCallerIdentityResult"`
	Meta responseMetadata `xml:"ResponseMetadata"`
}

func (s *Server) getCallerIdentity(p *principal) *callerIdentityResponse {
	var out callerIdentityResponse
	out.Result.Arn, out.Result.UserID, out.Result.Account = p.arn, p.userID, accountOf(p.arn)
	return &out
}

func (s *Server) assumeRole(form url.Values, caller *principal) (any, *fakecore.APIError) {
	tags, transitive, apiErr := validateAssumeRole(form)
	if apiErr != nil {
		return nil, apiErr
	}
	roleARN := form.Get("RoleArn")
	deny := errAccessDenied(fmt.Sprintf("User: %s is not authorized to perform: sts:AssumeRole on resource: %s", caller.arn, roleARN))
	role := s.roleByARN(roleARN)
	if role == nil || role.NoUserTrust {
		return nil, deny
	}
	chained := caller.session != nil
	if chained {
		if len(role.TrustedRoles) > 0 && !slices.Contains(role.TrustedRoles, caller.session.roleName) {
			return nil, deny
		}
	} else if len(role.TrustedUsers) > 0 && !slices.Contains(role.TrustedUsers, caller.user.name) {
		return nil, deny
	}
	if role.ExternalID != "" && form.Get("ExternalId") != role.ExternalID {
		return nil, deny
	}
	if len(tags) > 0 || len(transitive) > 0 {
		if !role.AllowTagSession {
			return nil, errAccessDenied(fmt.Sprintf("User: %s is not authorized to perform: sts:TagSession on resource: %s", caller.arn, roleARN))
		}
	}
	duration, apiErr := sessionDuration(form, role, chained)
	if apiErr != nil {
		return nil, apiErr
	}
	if apiErr := checkPolicy(form.Get("Policy")); apiErr != nil {
		return nil, apiErr
	}
	packed := 0
	if role.MaxTags > 0 && len(tags) > 0 {
		packed = len(tags) * 100 / role.MaxTags
		if len(tags) > role.MaxTags {
			return nil, newAPIError(0, "PackedPolicyTooLarge",
				fmt.Sprintf("Packed policy consumes %d%% of allotted space, please use smaller policy.", max(packed, 101)))
		}
	}

	ss := s.issueSession(role, form.Get("RoleSessionName"), duration)
	var out assumeRoleResponse
	out.Result.Credentials = s.credentialsXML(ss)
	out.Result.AssumedRoleUser = assumedRoleUserXML{AssumedRoleID: ss.roleID + ":" + ss.sessionName, Arn: ss.arn}
	out.Result.PackedPolicySize = packed
	out.Result.SourceIdentity = form.Get("SourceIdentity")
	return &out, nil
}

func (s *Server) assumeRoleWithWebIdentity(form url.Values) (any, *fakecore.APIError) {
	for k := range form {
		// The API has no session tags; configure-aws-credentials strips them.
		if strings.HasPrefix(k, "Tags.") || strings.HasPrefix(k, "TransitiveTagKeys.") {
			return nil, errValidation(fmt.Sprintf("The parameter %s is not valid for AssumeRoleWithWebIdentity.", k))
		}
	}
	var v validator
	v.required("roleArn", form, "RoleArn")
	v.length("roleArn", form, "RoleArn", 20, 2048)
	v.required("roleSessionName", form, "RoleSessionName")
	v.pattern("roleSessionName", form, "RoleSessionName", 2, 64, reSessionName, `[\w+=,.@-]*`)
	v.required("webIdentityToken", form, "WebIdentityToken")
	v.lengthRedacted("webIdentityToken", form.Get("WebIdentityToken"), 4, 20000)
	v.common(form)
	if apiErr := v.err(); apiErr != nil {
		return nil, apiErr
	}

	claims, apiErr := s.oidc.verify(form.Get("WebIdentityToken"), s.opts.Now())
	if apiErr != nil {
		return nil, apiErr
	}
	deny := errAccessDenied("Not authorized to perform sts:AssumeRoleWithWebIdentity")
	role := s.roleByARN(form.Get("RoleArn"))
	if role == nil || role.Audience == "" {
		return nil, deny
	}
	aud, sub := claimString(claims, "aud"), claimString(claims, "sub")
	if aud != role.Audience {
		return nil, &fakecore.APIError{Status: http.StatusBadRequest, Code: "InvalidIdentityToken", Message: "Incorrect token audience"}
	}
	if !slices.ContainsFunc(role.SubPatterns, func(p string) bool { return globMatch(p, sub) }) {
		return nil, deny
	}
	duration, apiErr := sessionDuration(form, role, false)
	if apiErr != nil {
		return nil, apiErr
	}
	if apiErr := checkPolicy(form.Get("Policy")); apiErr != nil {
		return nil, apiErr
	}

	ss := s.issueSession(role, form.Get("RoleSessionName"), duration)
	var out webIdentityResponse
	out.Result.Credentials = s.credentialsXML(ss)
	out.Result.SubjectFromWebIdentityToken = sub
	out.Result.AssumedRoleUser = assumedRoleUserXML{AssumedRoleID: ss.roleID + ":" + ss.sessionName, Arn: ss.arn}
	out.Result.Provider = fmt.Sprintf("arn:aws:iam::%s:oidc-provider/%s", s.opts.AccountID, strings.TrimPrefix(s.opts.Issuer, "https://"))
	out.Result.Audience = aud
	return &out, nil
}

// roleByARN resolves arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME in this account.
func (s *Server) roleByARN(arn string) *roleEntry {
	f := strings.SplitN(arn, ":", 6)
	if len(f) != 6 || f[0] != "arn" || f[2] != "iam" || f[4] != s.opts.AccountID || !strings.HasPrefix(f[5], "role/") {
		return nil
	}
	name := f[5][strings.LastIndex(f[5], "/")+1:]
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.roles[name]; ok {
		cp := *r
		return &cp
	}
	return nil
}

func sessionDuration(form url.Values, role *roleEntry, chained bool) (time.Duration, *fakecore.APIError) {
	d := time.Hour
	if v := form.Get("DurationSeconds"); v != "" {
		n, _ := strconv.Atoi(v) // validated already
		d = time.Duration(n) * time.Second
	}
	if chained && d > time.Hour {
		return 0, errValidation("The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.")
	}
	if d > role.MaxSessionDuration {
		return 0, errValidation("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
	}
	return d, nil
}

func checkPolicy(p string) *fakecore.APIError {
	if p != "" && !json.Valid([]byte(p)) {
		return newAPIError(0, "MalformedPolicyDocument", "")
	}
	return nil
}

// issueSession creates temporary credentials for role.
func (s *Server) issueSession(role *roleEntry, sessionName string, d time.Duration) *session {
	s.mu.Lock()
	defer s.mu.Unlock()
	account := s.opts.AccountID
	if s.quirks.AssumedRoleAccount != "" {
		account = s.quirks.AssumedRoleAccount
	}
	prefix := s.opts.CredentialPrefix
	ss := &session{
		accessKeyID: "ASIA" + s.randStringLocked(upperAlnum, 16),
		secret:      prefix + s.randStringLocked(base64Set, 40-len(prefix)),
		// Real tokens start with this base64 of a protobuf header.
		token:       "IQoJb3JpZ2luX2VjE" + prefix + s.randStringLocked(base64Set, 600),
		expiration:  s.opts.Now().Add(d).UTC().Truncate(time.Second),
		roleName:    role.Name,
		roleID:      role.id,
		sessionName: sessionName,
		arn:         fmt.Sprintf("arn:aws:sts::%s:assumed-role/%s/%s", account, role.Name, sessionName),
	}
	s.sessions[ss.accessKeyID] = ss
	return ss
}

// credentialsXML is the Credentials element of an answer, or nil when the
// OmitCredentials quirk is on.
func (s *Server) credentialsXML(ss *session) *credentialsXML {
	if s.currentQuirks().OmitCredentials {
		return nil
	}
	return &credentialsXML{
		AccessKeyID:     ss.accessKeyID,
		SecretAccessKey: ss.secret,
		SessionToken:    ss.token,
		Expiration:      ss.expiration.Format(time.RFC3339),
	}
}

// globMatch is IAM's StringLike: * matches any run, ? any one character.
func globMatch(pattern, s string) bool {
	p, str := []rune(pattern), []rune(s)
	// Iterative matching with one backtrack point keeps it linear-ish and
	// bounded by len(p)*len(str).
	pi, si, star, mark := 0, 0, -1, 0
	for si < len(str) {
		switch {
		case pi < len(p) && (p[pi] == '?' || p[pi] == str[si]):
			pi++
			si++
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, si
			pi++
		case star >= 0:
			pi = star + 1
			mark++
			si = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

// AddSession registers temporary credentials issued elsewhere (by the fake
// IMDS, for example) as a session of role roleName named sessionName, so
// requests signed with them verify as
// arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION until c.Expiration, and may
// chain into roles that trust roleName. It returns that ARN. The role need
// not have been added.
func (s *Server) AddSession(roleName, sessionName string, c fakecore.Credentials) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	roleID := "AROA" + s.randStringLocked(upperAlnum, 17)
	if r, ok := s.roles[roleName]; ok {
		roleID = r.id
	}
	ss := &session{
		accessKeyID: c.AccessKeyID,
		secret:      c.SecretAccessKey,
		token:       c.SessionToken,
		expiration:  c.Expiration,
		roleName:    roleName,
		roleID:      roleID,
		sessionName: sessionName,
		arn:         fmt.Sprintf("arn:aws:sts::%s:assumed-role/%s/%s", s.opts.AccountID, roleName, sessionName),
	}
	s.sessions[ss.accessKeyID] = ss
	return ss.arn
}
