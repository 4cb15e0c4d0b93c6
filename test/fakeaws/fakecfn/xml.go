package fakecfn

import (
	"bytes"
	"encoding/xml"
	"net/http"
	"strconv"
	"time"

	"github.com/aws-assume-deploy/aws-assume-deploy/test/fakeaws/fakecore"
)

// Shapes follow botocore's cloudformation/2010-05-15 model (query protocol:
// lists are <Name><member>...</member></Name>).

type xmlParameter struct {
	ParameterKey   string
	ParameterValue string
	ResolvedValue  string `xml:",omitempty"`
}

type xmlOutput struct {
	OutputKey   string
	OutputValue string
	Description string `xml:",omitempty"`
	ExportName  string `xml:",omitempty"`
}

type xmlTag struct {
	Key   string
	Value string
}

type xmlDrift struct {
	StackDriftStatus string
}

type xmlStack struct {
	StackId                     string
	StackName                   string
	ChangeSetId                 string         `xml:",omitempty"`
	Description                 string         `xml:",omitempty"`
	Parameters                  []xmlParameter `xml:"Parameters>member"`
	CreationTime                string
	DeletionTime                string `xml:",omitempty"`
	LastUpdatedTime             string `xml:",omitempty"`
	StackStatus                 string
	StackStatusReason           string `xml:",omitempty"`
	DisableRollback             bool
	NotificationARNs            []string    `xml:"NotificationARNs>member"`
	Capabilities                []string    `xml:"Capabilities>member"`
	Outputs                     []xmlOutput `xml:"Outputs>member"`
	RoleARN                     string      `xml:",omitempty"`
	Tags                        []xmlTag    `xml:"Tags>member"`
	EnableTerminationProtection bool
	DriftInformation            xmlDrift
}

type describeStacksResult struct {
	Stacks    []xmlStack `xml:"Stacks>member"`
	NextToken string     `xml:",omitempty"`
}

type createChangeSetResult struct {
	Id      string
	StackId string
}

type xmlResourceChange struct {
	Action              string
	LogicalResourceId   string
	PhysicalResourceId  string `xml:",omitempty"`
	ResourceType        string
	Replacement         string                    `xml:",omitempty"`
	Scope               []string                  `xml:"Scope>member"`
	Details             []xmlResourceChangeDetail `xml:"Details>member"`
	PolicyAction        string                    `xml:",omitempty"`
	ChangeSetId         string                    `xml:",omitempty"`
	BeforeContext       string                    `xml:",omitempty"`
	AfterContext        string                    `xml:",omitempty"`
	ResourceDriftStatus string                    `xml:",omitempty"`
}

type xmlResourceChangeDetail struct {
	Target        xmlResourceTarget
	Evaluation    string
	ChangeSource  string
	CausingEntity string `xml:",omitempty"`
}

type xmlResourceTarget struct {
	Attribute           string
	Name                string  `xml:",omitempty"`
	RequiresRecreation  string  `xml:",omitempty"`
	Path                string  `xml:",omitempty"`
	AttributeChangeType string  `xml:",omitempty"`
	BeforeValue         *string `xml:",omitempty"`
	AfterValue          *string `xml:",omitempty"`
	BeforeValueFrom     string  `xml:",omitempty"`
	AfterValueFrom      string  `xml:",omitempty"`
}

type xmlChange struct {
	Type           string
	ResourceChange xmlResourceChange
}

type describeChangeSetResult struct {
	ChangeSetName       string
	ChangeSetId         string
	StackId             string
	StackName           string
	Description         string         `xml:",omitempty"`
	Parameters          []xmlParameter `xml:"Parameters>member"`
	CreationTime        string
	ExecutionStatus     string
	Status              string
	StatusReason        string      `xml:",omitempty"`
	NotificationARNs    []string    `xml:"NotificationARNs>member"`
	Capabilities        []string    `xml:"Capabilities>member"`
	Tags                []xmlTag    `xml:"Tags>member"`
	Changes             []xmlChange `xml:"Changes>member"`
	NextToken           string      `xml:",omitempty"`
	IncludeNestedStacks bool
	DeploymentMode      string `xml:",omitempty"`
	StackDriftStatus    string `xml:",omitempty"`
	ParentChangeSetId   string `xml:",omitempty"`
	RootChangeSetId     string `xml:",omitempty"`
}

type xmlChangeSetSummary struct {
	StackId             string
	StackName           string
	ChangeSetId         string
	ChangeSetName       string
	ExecutionStatus     string
	Status              string
	StatusReason        string `xml:",omitempty"`
	CreationTime        string
	Description         string `xml:",omitempty"`
	IncludeNestedStacks bool
}

type listChangeSetsResult struct {
	Summaries []xmlChangeSetSummary `xml:"Summaries>member"`
}

type xmlStackEvent struct {
	StackId              string
	EventId              string
	StackName            string
	LogicalResourceId    string
	PhysicalResourceId   string
	ResourceType         string
	Timestamp            string
	ResourceStatus       string
	ResourceStatusReason string `xml:",omitempty"`
}

type describeStackEventsResult struct {
	StackEvents []xmlStackEvent `xml:"StackEvents>member"`
	NextToken   string          `xml:",omitempty"`
	lastSeq     int64
}

type xmlConstraints struct {
	AllowedValues []string `xml:"AllowedValues>member"`
}

type xmlParameterDeclaration struct {
	ParameterKey         string
	DefaultValue         string `xml:",omitempty"`
	ParameterType        string
	NoEcho               bool
	Description          string `xml:",omitempty"`
	ParameterConstraints xmlConstraints
}

type getTemplateSummaryResult struct {
	Parameters         []xmlParameterDeclaration `xml:"Parameters>member"`
	Description        string                    `xml:",omitempty"`
	Capabilities       []string                  `xml:"Capabilities>member"`
	CapabilitiesReason string                    `xml:",omitempty"`
	ResourceTypes      []string                  `xml:"ResourceTypes>member"`
	Version            string
	DeclaredTransforms []string `xml:"DeclaredTransforms>member"`
}

type xmlTemplateParameter struct {
	ParameterKey string
	DefaultValue string `xml:",omitempty"`
	NoEcho       bool
	Description  string `xml:",omitempty"`
}

type validateTemplateResult struct {
	Parameters         []xmlTemplateParameter `xml:"Parameters>member"`
	Description        string                 `xml:",omitempty"`
	Capabilities       []string               `xml:"Capabilities>member"`
	CapabilitiesReason string                 `xml:",omitempty"`
	DeclaredTransforms []string               `xml:"DeclaredTransforms>member"`
}

type stackIDResult struct {
	StackId string
}

// noResult marks actions whose answer has no Result element (DeleteStack).
type noResult struct{}

// emptyResult is an empty Result element (ExecuteChangeSet, DeleteChangeSet).
type emptyResult struct{}

func isoTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

// writeResult writes <ActionResponse><ActionResult>v</ActionResult><ResponseMetadata/>.
func writeResult(w http.ResponseWriter, action string, v any) {
	var buf bytes.Buffer
	buf.WriteString(`<` + action + `Response xmlns="` + xmlns + `">`)
	if _, none := v.(noResult); !none {
		enc := xml.NewEncoder(&buf)
		if err := enc.EncodeElement(v, xml.StartElement{Name: xml.Name{Local: action + "Result"}}); err != nil {
			writeError(w, &apiError{Status: http.StatusInternalServerError, Code: "InternalFailure", Message: err.Error()})
			return
		}
	}
	buf.WriteString(`<ResponseMetadata><RequestId>` + newUUID() + `</RequestId></ResponseMetadata></` + action + `Response>`)
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
}

// writeError writes CloudFormation's query-protocol error document.
func writeError(w http.ResponseWriter, e *apiError) {
	fakecore.WriteQueryError(w, e, xmlns, newUUID())
}
