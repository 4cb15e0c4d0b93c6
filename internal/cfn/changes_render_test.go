package cfn

import (
	"strings"
	"testing"
)

// CFD's changeset-formatter tests check that the markdown output carries
// the replacement warnings and the property values; ours must too (the
// layout differs: a table instead of collapsible sections).
func TestChangesMarkdown_cfd_vectors(t *testing.T) {
	t.Parallel()
	const cfdFormatter = "__tests__/changeset-formatter.test.ts"
	before, after := "PROVISIONED", "PAY_PER_REQUEST"
	r := &Result{StackName: "app", ChangeSetName: "cs", ChangeSetID: "arn:cs", HasChanges: true, ChangesCount: 3, Changes: []Change{
		{Action: "Add", LogicalID: "MyBucket", ResourceType: "AWS::S3::Bucket"},
		{Action: "Modify", LogicalID: "MyTable", PhysicalID: "my-table-123", ResourceType: "AWS::DynamoDB::Table", Replacement: "True", Scope: []string{"Properties"},
			Details: []ChangeDetail{{Attribute: "Properties", Name: "BillingMode", RequiresRecreation: "Always", BeforeValue: &before, AfterValue: &after}}},
		{Action: "Modify", LogicalID: "MyQueue", ResourceType: "AWS::SQS::Queue", Replacement: "Conditional"},
	}}
	md := r.ChangesMarkdown()
	for _, tc := range []struct{ cfd, want string }{
		{cfdFormatter + ": generates markdown for PR comments (summary)", "3 change(s): 1 to add, 2 to modify. **⚠️ 1 resource(s) will be replaced**"},
		{cfdFormatter + ": generates markdown for PR comments (add)", "| Add | MyBucket | AWS::S3::Bucket |"},
		{cfdFormatter + ": generates markdown for PR comments (replaced)", "| Modify | MyTable | AWS::DynamoDB::Table | **True** ⚠️ will be replaced |"},
		{cfdFormatter + ": generates markdown for PR comments (recreation)", "| MyTable | Properties.BillingMode | PROVISIONED | PAY\\_PER\\_REQUEST | ⚠️ **Always** |"},
		{cfdFormatter + ": handles conditional replacement", "| Modify | MyQueue | AWS::SQS::Queue | Conditional ⚠️ may be replaced |"},
	} {
		if !strings.Contains(md, tc.want) {
			t.Errorf("%s: markdown lacks %q:\n%s", tc.cfd, tc.want, md)
		}
	}
}
