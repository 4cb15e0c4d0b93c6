package fakecfn

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// ---- form decoding (query protocol lists: Name.member.N[.Field]) ----

// members decodes a list of structures in list order.
func members(form url.Values, list string) []map[string]string {
	prefix := list + ".member."
	byIndex := map[int]map[string]string{}
	for key, vals := range form {
		rest, ok := strings.CutPrefix(key, prefix)
		if !ok {
			continue
		}
		idx, field, _ := strings.Cut(rest, ".")
		n, err := strconv.Atoi(idx)
		if err != nil {
			continue
		}
		if byIndex[n] == nil {
			byIndex[n] = map[string]string{}
		}
		byIndex[n][field] = vals[0]
	}
	idxs := make([]int, 0, len(byIndex))
	for n := range byIndex {
		idxs = append(idxs, n)
	}
	sort.Ints(idxs)
	out := make([]map[string]string, 0, len(idxs))
	for _, n := range idxs {
		out = append(out, byIndex[n])
	}
	return out
}

// scalars decodes a list of strings (Capabilities.member.N).
func scalars(form url.Values, list string) []string {
	var out []string
	for _, m := range members(form, list) {
		out = append(out, m[""])
	}
	return out
}

func boolParam(form url.Values, key string) bool {
	b, _ := strconv.ParseBool(form.Get(key))
	return b
}

func tagsParam(form url.Values) []tag {
	var out []tag
	for _, m := range members(form, "Tags") {
		out = append(out, tag{Key: m["Key"], Value: m["Value"]})
	}
	return out
}

func xmlTags(tags []tag) []xmlTag {
	var out []xmlTag
	for _, t := range tags {
		out = append(out, xmlTag(t))
	}
	return out
}

// displayParams renders parameter values, masking NoEcho ones as AWS does.
func displayParams(tmpl *template, values map[string]string) []xmlParameter {
	if tmpl == nil {
		return nil
	}
	var out []xmlParameter
	for _, p := range tmpl.Params {
		v, ok := values[p.Name]
		if !ok {
			continue
		}
		if p.NoEcho {
			v = "****"
		}
		out = append(out, xmlParameter{ParameterKey: p.Name, ParameterValue: v})
	}
	return out
}

// ---- token paging ----

func encodeToken(kind string, n int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf("%s:%d", kind, n)))
}

func decodeToken(kind, tok string) (int64, error) {
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err == nil {
		if rest, ok := strings.CutPrefix(string(raw), kind+":"); ok {
			if n, err := strconv.ParseInt(rest, 10, 64); err == nil {
				return n, nil
			}
		}
	}
	return 0, validationError("Invalid NextToken")
}

// ---- templates ----

const maxTemplateBody = 51200

// templateFrom reads TemplateBody or TemplateURL (the S3 fake).
func (c *CloudFormation) templateFrom(form url.Values) (*template, error) {
	body, urlStr := form.Get("TemplateBody"), form.Get("TemplateURL")
	switch {
	case body != "" && urlStr != "":
		return nil, validationError("Specify exactly one of TemplateBody or TemplateURL.")
	case body != "":
		if len(body) > maxTemplateBody {
			return nil, validationError("1 validation error detected: Value '%.20s...' at 'templateBody' failed to satisfy constraint: Member must have length less than or equal to %d", body, maxTemplateBody)
		}
	case urlStr != "":
		b, err := c.fetchTemplate(urlStr)
		if err != nil {
			return nil, err
		}
		body = b
	default:
		return nil, nil
	}
	t, err := parseTemplate(body)
	if err != nil {
		return nil, validationError("%s", err.Error())
	}
	return t, nil
}

func (c *CloudFormation) fetchTemplate(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") {
		return "", validationError("TemplateURL must be a supported URL.")
	}
	if c.opts.S3 == nil {
		return "", validationError("TemplateURL must be a supported URL.")
	}
	bucket, key := splitS3(u.Host, u.Path)
	if bucket == "" || key == "" {
		return "", validationError("TemplateURL must be a supported URL.")
	}
	data, ok := c.opts.S3.Object(bucket, key)
	if !ok {
		return "", validationError("S3 error: The specified key does not exist.")
	}
	return string(data), nil
}

// ---- actions ----

func (c *CloudFormation) stackXML(st *stack) xmlStack {
	x := xmlStack{
		StackId:                     st.id,
		StackName:                   st.name,
		ChangeSetId:                 st.changeSetID,
		CreationTime:                isoTime(st.created),
		LastUpdatedTime:             isoTime(st.updated),
		DeletionTime:                isoTime(st.deletedAt),
		StackStatus:                 st.status,
		StackStatusReason:           st.reason,
		DisableRollback:             st.disableRollback,
		NotificationARNs:            st.notificationARNs,
		Capabilities:                st.capabilities,
		RoleARN:                     st.roleARN,
		Tags:                        xmlTags(st.tags),
		EnableTerminationProtection: st.terminationProtection,
		Parameters:                  displayParams(st.tmpl, st.params),
		DriftInformation:            xmlDrift{StackDriftStatus: "NOT_CHECKED"},
	}
	if st.tmpl != nil {
		x.Description = st.tmpl.Description
	}
	for _, o := range st.outputs {
		x.Outputs = append(x.Outputs, xmlOutput{OutputKey: o.Key, OutputValue: o.Value, Description: o.Description, ExportName: o.ExportName})
	}
	return x
}

func (c *CloudFormation) describeStacks(req *request) (any, error) {
	name := req.form.Get("StackName")
	if name == "" {
		var res describeStacksResult
		for i := len(c.stacks) - 1; i >= 0; i-- {
			if c.stacks[i].status != "DELETE_COMPLETE" {
				res.Stacks = append(res.Stacks, c.stackXML(c.stacks[i]))
			}
		}
		return res, nil
	}
	st, err := c.mustStack(name)
	if err != nil {
		return nil, err
	}
	return describeStacksResult{Stacks: []xmlStack{c.stackXML(st)}}, nil
}

var changeSetNamePattern = regexp.MustCompile(`^[a-zA-Z][-a-zA-Z0-9]*$`)

func (c *CloudFormation) createChangeSet(req *request) (any, error) {
	f := req.form
	name, csName := f.Get("StackName"), f.Get("ChangeSetName")
	if name == "" {
		return nil, validationError("1 validation error detected: Value null at 'stackName' failed to satisfy constraint: Member must not be null")
	}
	if !changeSetNamePattern.MatchString(csName) || len(csName) > 128 {
		return nil, validationError("1 validation error detected: Value '%s' at 'changeSetName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z][-a-zA-Z0-9]*", csName)
	}
	if mode := f.Get("DeploymentMode"); mode != "" && mode != "REVERT_DRIFT" {
		return nil, validationError("1 validation error detected: Value '%s' at 'deploymentMode' failed to satisfy constraint: Member must satisfy enum value set: [REVERT_DRIFT]", mode)
	}
	token := f.Get("ClientToken")
	if token != "" {
		// A retry with the same token gets the change set it created.
		if prev := c.changeSetByToken(name, csName, token); prev != nil {
			return createChangeSetResult{Id: prev.id, StackId: prev.st.id}, nil
		}
	}
	csType := f.Get("ChangeSetType")
	if csType == "" {
		csType = "UPDATE"
	}
	if csType != "CREATE" && csType != "UPDATE" {
		return nil, validationError("fakecfn: ChangeSetType %s is not supported", csType)
	}
	usePrevTmpl := boolParam(f, "UsePreviousTemplate")

	st := c.findStack(name)
	if csType == "CREATE" {
		if usePrevTmpl {
			return nil, validationError("Cannot specify usePreviousTemplate as true for a changeSetType CREATE")
		}
		if st != nil && st.status != "REVIEW_IN_PROGRESS" {
			return nil, validationError("Stack [%s] already exists and cannot be created again with the changeSet [%s].", st.name, csName)
		}
	} else {
		if st == nil {
			return nil, validationError("Stack [%s] does not exist", name)
		}
		if !updatable(st.status) {
			return nil, validationError("Stack:%s is in %s state and can not be updated.", st.id, st.status)
		}
	}
	if st != nil {
		for _, cs := range c.changeSets {
			if cs.st == st && cs.name == csName && !cs.deleted {
				return nil, &apiError{Status: http.StatusBadRequest, Code: "AlreadyExistsException", Message: fmt.Sprintf("ChangeSet [%s] already exists", csName)}
			}
		}
	}

	tmpl, err := c.templateFrom(f)
	if err != nil {
		return nil, err
	}
	if usePrevTmpl {
		if tmpl != nil {
			return nil, validationError("Specify exactly one of TemplateBody, TemplateURL or UsePreviousTemplate.")
		}
		tmpl = st.tmpl
	}
	if tmpl == nil {
		return nil, validationError("Either Template URL or Template Body must be specified.")
	}

	caps := scalars(f, "Capabilities")
	if need, _ := tmpl.requiredCapabilities(); len(need) > 0 {
		var missing []string
		for _, n := range need {
			ok := slices.Contains(caps, n) || (n == "CAPABILITY_IAM" && slices.Contains(caps, "CAPABILITY_NAMED_IAM"))
			if !ok {
				missing = append(missing, n)
			}
		}
		if len(missing) > 0 {
			return nil, &apiError{Status: http.StatusBadRequest, Code: "InsufficientCapabilitiesException", Message: fmt.Sprintf("Requires capabilities : [%s]", strings.Join(missing, ", "))}
		}
	}

	var old map[string]string
	if st != nil && csType == "UPDATE" {
		old = st.params
	}
	params, err := resolveParams(tmpl, members(f, "Parameters"), csType, old)
	if err != nil {
		return nil, err
	}

	if st == nil {
		st = &stack{
			id: c.stackARN(req.region, req.account, name), name: name, region: req.region, account: req.account,
			created: req.now,
		}
		c.stacks = append(c.stacks, st)
		c.setStatus(st, req.now, "REVIEW_IN_PROGRESS", "User Initiated")
	}

	sc := c.scriptFor(st.name)
	cs := &changeSet{
		id:               fmt.Sprintf("arn:aws:cloudformation:%s:%s:changeSet/%s/%s", st.region, st.account, csName, newUUID()),
		name:             csName,
		csType:           csType,
		description:      f.Get("Description"),
		st:               st,
		created:          req.now,
		readyAt:          req.now.Add(sc.ChangeSetCreateDelay),
		stuck:            sc.StuckChangeSet,
		failReason:       sc.ChangeSetFailReason,
		tmpl:             tmpl,
		params:           params,
		tags:             tagsParam(f),
		roleARN:          f.Get("RoleARN"),
		notificationARNs: scalars(f, "NotificationARNs"),
		capabilities:     caps,
		includeNested:    boolParam(f, "IncludeNestedStacks"),
		deploymentMode:   f.Get("DeploymentMode"),
		clientToken:      token,
	}
	if csType == "UPDATE" {
		// RoleARN, tags and notifications not given keep the stack's values.
		if cs.roleARN == "" {
			cs.roleARN = st.roleARN
		}
		if _, given := f["NotificationARNs"]; !given && len(cs.notificationARNs) == 0 {
			cs.notificationARNs = st.notificationARNs
		}
		if _, given := f["Tags"]; !given && len(cs.tags) == 0 {
			cs.tags = st.tags
		}
	}
	cs.changes = diff(st, tmpl, params)
	annotate(st, tmpl, params, cs.changes)
	if cs.failReason == "" && csType == "UPDATE" && st.tmpl != nil && st.tmpl.Body == tmpl.Body && mapsEqual(st.params, params) {
		cs.failReason = NoChangesReason
	}
	c.changeSets = append(c.changeSets, cs)
	if cs.includeNested {
		c.nestChangeSets(cs, cs)
	}
	return createChangeSetResult{Id: cs.id, StackId: st.id}, nil
}

// changeSetByToken finds the live change set a CreateChangeSet with this
// stack, name and ClientToken created.
func (c *CloudFormation) changeSetByToken(stackName, csName, token string) *changeSet {
	st := c.findStack(stackName)
	if st == nil {
		return nil
	}
	for _, cs := range c.changeSets {
		if cs.st == st && cs.name == csName && cs.clientToken == token && !cs.deleted {
			return cs
		}
	}
	return nil
}

// annotate adds what DescribeChangeSet reports beyond the action: changed
// properties, replacement, policy actions and the before and after contexts.
// A template the property reader cannot read leaves the changes bare.
func annotate(st *stack, tmpl *template, params map[string]string, changes []change) {
	newDocs, err := resourceDocs(tmpl.Body)
	if err != nil {
		return
	}
	oldDocs := map[string]resourceDoc{}
	var oldCtx resolveCtx
	if st.tmpl != nil {
		if oldDocs, err = resourceDocs(st.tmpl.Body); err != nil {
			return
		}
		oldCtx = st.resolveCtx(st.tmpl, st.params, st.physical)
	}
	newCtx := st.resolveCtx(tmpl, params, st.physical)
	var changedParams []string
	for k, v := range params {
		if ov, ok := st.params[k]; !ok || ov != v {
			changedParams = append(changedParams, k)
		}
	}
	for i := range changes {
		ch := &changes[i]
		oldDoc, newDoc := oldDocs[ch.LogicalID], newDocs[ch.LogicalID]
		switch ch.Action {
		case "Add":
			ch.After = newCtx.resolveValue(newDoc.Properties).(map[string]any)
		case "Remove":
			ch.Before = oldCtx.resolveValue(oldDoc.Properties).(map[string]any)
			ch.PolicyAction = policyAction(oldDoc.DeletionPolicy)
		case "Modify":
			ch.Before = oldCtx.resolveValue(oldDoc.Properties).(map[string]any)
			ch.After = newCtx.resolveValue(newDoc.Properties).(map[string]any)
			ch.Props = diffProperties(ch.Type, oldDoc.Properties, newDoc.Properties, oldCtx, newCtx, changedParams)
			for _, p := range ch.Props {
				if p.RequiresRecreation == "Always" {
					ch.Replacement = "True"
					ch.PolicyAction = "ReplaceAnd" + policyAction(newDoc.UpdateReplacePolicy)
				}
			}
		}
	}
}

// policyAction maps a DeletionPolicy or UpdateReplacePolicy to what happens
// to the physical resource.
func policyAction(policy string) string {
	switch policy {
	case "Retain", "RetainExceptOnCreate":
		return "Retain"
	case "Snapshot":
		return "Snapshot"
	}
	return "Delete"
}

// nestChangeSets gives every nested stack that parent adds or modifies a
// nested change set, as CreateChangeSet with IncludeNestedStacks does, and
// recurses into them. Nested changes are computed against an empty stack.
func (c *CloudFormation) nestChangeSets(parent, root *changeSet) {
	docs, err := resourceDocs(parent.tmpl.Body)
	if err != nil {
		return
	}
	ctx := parent.st.resolveCtx(parent.tmpl, parent.params, parent.st.physical)
	for i := range parent.changes {
		ch := &parent.changes[i]
		if ch.Type != "AWS::CloudFormation::Stack" || (ch.Action != "Add" && ch.Action != "Modify") {
			continue
		}
		props, _ := ctx.resolveValue(docs[ch.LogicalID].Properties).(map[string]any)
		urlStr, _ := props["TemplateURL"].(string)
		body, err := c.fetchTemplate(urlStr)
		if err != nil {
			continue
		}
		tmpl, err := parseTemplate(body)
		if err != nil {
			continue
		}
		var given []map[string]string
		if ps, ok := props["Parameters"].(map[string]any); ok {
			for k, v := range ps {
				given = append(given, map[string]string{"ParameterKey": k, "ParameterValue": scalarString(v)})
			}
		}
		params, err := resolveParams(tmpl, given, "CREATE", nil)
		if err != nil {
			params = map[string]string{}
		}
		suffix := strings.ToUpper(strings.ReplaceAll(newUUID(), "-", "")[:12])
		name := fmt.Sprintf("%s-%s-%s", parent.st.name, ch.LogicalID, suffix)
		nested := &stack{id: c.stackARN(parent.st.region, parent.st.account, name), name: name,
			region: parent.st.region, account: parent.st.account, created: parent.created}
		csName := fmt.Sprintf("%s-%s-%s", parent.name, ch.LogicalID, suffix)
		cs := &changeSet{
			id:   fmt.Sprintf("arn:aws:cloudformation:%s:%s:changeSet/%s/%s", nested.region, nested.account, csName, newUUID()),
			name: csName, csType: "CREATE", st: nested, created: parent.created, readyAt: parent.readyAt,
			tmpl: tmpl, params: params, capabilities: parent.capabilities, roleARN: parent.roleARN,
			includeNested: true, deploymentMode: parent.deploymentMode, parent: parent, root: root,
		}
		cs.changes = diff(nested, tmpl, params)
		annotate(nested, tmpl, params, cs.changes)
		ch.Nested = cs
		c.changeSets = append(c.changeSets, cs)
		c.nestChangeSets(cs, root)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if bv, ok := b[k]; !ok || bv != v {
			return false
		}
	}
	return true
}

// resolveParams validates the given parameters and returns every effective value.
func resolveParams(tmpl *template, given []map[string]string, csType string, old map[string]string) (map[string]string, error) {
	values := map[string]string{}
	var unknown []string
	for _, p := range given {
		key := p["ParameterKey"]
		usePrev, _ := strconv.ParseBool(p["UsePreviousValue"])
		_, hasValue := p["ParameterValue"]
		if usePrev {
			if csType == "CREATE" {
				return nil, validationError("Cannot specify UsePreviousValue on Parameters when ChangeSetType is CREATE")
			}
			if hasValue && p["ParameterValue"] != "" {
				return nil, validationError("Invalid input for parameter key %s. Cannot specify usePreviousValue as true and non empty value for a parameter", key)
			}
		}
		if _, ok := tmpl.param(key); !ok {
			unknown = append(unknown, key)
			continue
		}
		if usePrev {
			prev, ok := old[key]
			if !ok {
				return nil, validationError("Invalid input for parameter key %s. Cannot specify usePreviousValue as true for a parameter key not in the previous template", key)
			}
			values[key] = prev
			continue
		}
		values[key] = p["ParameterValue"]
	}
	if len(unknown) > 0 {
		return nil, validationError("Parameters: [%s] do not exist in the template", strings.Join(unknown, ", "))
	}
	var missing []string
	for _, p := range tmpl.Params {
		if _, ok := values[p.Name]; ok {
			continue
		}
		if p.HasDefault {
			values[p.Name] = p.Default
			continue
		}
		missing = append(missing, p.Name)
	}
	if len(missing) > 0 {
		return nil, validationError("Parameters: [%s] must have values", strings.Join(missing, ", "))
	}
	for _, p := range tmpl.Params {
		if len(p.AllowedValues) > 0 && !slices.Contains(p.AllowedValues, values[p.Name]) {
			return nil, validationError("Parameter '%s' must be one of AllowedValues", p.Name)
		}
	}
	return values, nil
}

// diff lists resource changes from the stack's current resources to tmpl.
func diff(st *stack, tmpl *template, params map[string]string) []change {
	var out []change
	var changedParams []string
	for k, v := range params {
		if ov, ok := st.params[k]; !ok || ov != v {
			changedParams = append(changedParams, k)
		}
	}
	current := st.tmpl
	for _, r := range tmpl.Resources {
		phys, exists := st.physical[r.ID]
		if current == nil || !exists {
			out = append(out, change{Action: "Add", LogicalID: r.ID, Type: r.Type})
			continue
		}
		old, _ := current.resource(r.ID)
		if old.Raw != r.Raw || old.Type != r.Type || len(paramRefs(r.Raw, changedParams)) > 0 {
			out = append(out, change{Action: "Modify", LogicalID: r.ID, PhysicalID: phys, Type: r.Type, Replacement: "False", Scope: []string{"Properties"}})
		}
	}
	if current != nil {
		for _, r := range current.Resources {
			if _, still := tmpl.resource(r.ID); still {
				continue
			}
			if phys, exists := st.physical[r.ID]; exists {
				out = append(out, change{Action: "Remove", LogicalID: r.ID, PhysicalID: phys, Type: r.Type})
			}
		}
	}
	return out
}

// findChangeSet resolves a change set ARN, or a name within a stack.
func (c *CloudFormation) findChangeSet(form url.Values) (*changeSet, error) {
	name, stackName := form.Get("ChangeSetName"), form.Get("StackName")
	if name == "" {
		return nil, validationError("1 validation error detected: Value null at 'changeSetName' failed to satisfy constraint: Member must not be null")
	}
	notFound := &apiError{Status: http.StatusNotFound, Code: "ChangeSetNotFound", Message: fmt.Sprintf("ChangeSet [%s] does not exist", name)}
	if strings.HasPrefix(name, "arn:") {
		for _, cs := range c.changeSets {
			if cs.id == name && !cs.deleted {
				return cs, nil
			}
		}
		return nil, notFound
	}
	if stackName == "" {
		return nil, validationError("StackName must be specified if ChangeSetName is not specified as an ARN.")
	}
	st := c.findStack(stackName)
	if st == nil {
		return nil, validationError("Stack [%s] does not exist", stackName)
	}
	for i := len(c.changeSets) - 1; i >= 0; i-- {
		cs := c.changeSets[i]
		if cs.st == st && cs.name == name && !cs.deleted {
			return cs, nil
		}
	}
	return nil, notFound
}

func (c *CloudFormation) describeChangeSet(req *request) (any, error) {
	cs, err := c.findChangeSet(req.form)
	if err != nil {
		return nil, err
	}
	now := req.now
	res := describeChangeSetResult{
		ChangeSetName:       cs.name,
		ChangeSetId:         cs.id,
		StackId:             cs.st.id,
		StackName:           cs.st.name,
		Description:         cs.description,
		Parameters:          displayParams(cs.tmpl, cs.params),
		CreationTime:        isoTime(cs.created),
		ExecutionStatus:     cs.executionStatus(now),
		Status:              cs.status(now),
		StatusReason:        cs.statusReason(now),
		NotificationARNs:    cs.notificationARNs,
		Capabilities:        cs.capabilities,
		Tags:                xmlTags(cs.tags),
		IncludeNestedStacks: cs.includeNested,
		DeploymentMode:      cs.deploymentMode,
	}
	driftAware := cs.deploymentMode == "REVERT_DRIFT"
	if driftAware {
		res.StackDriftStatus = "IN_SYNC" // the fake models no drift
	}
	if cs.parent != nil {
		res.ParentChangeSetId, res.RootChangeSetId = cs.parent.id, cs.root.id
	}
	if res.Status != "CREATE_COMPLETE" {
		return res, nil // changes are only known once the change set is complete
	}
	start := 0
	if tok := req.form.Get("NextToken"); tok != "" {
		n, err := decodeToken("changes", tok)
		if err != nil {
			return nil, err
		}
		start = int(n)
	}
	end := min(start+c.opts.ChangesPageSize, len(cs.changes))
	withValues := boolParam(req.form, "IncludePropertyValues")
	for _, ch := range cs.changes[min(start, end):end] {
		res.Changes = append(res.Changes, xmlChange{Type: "Resource", ResourceChange: resourceChangeXML(ch, withValues, driftAware)})
	}
	if end < len(cs.changes) {
		res.NextToken = encodeToken("changes", int64(end))
	}
	return res, nil
}

// resourceChangeXML renders one change. withValues is DescribeChangeSet's
// IncludePropertyValues: one detail per changed value, with its path and
// before and after values, and the contexts; without it, one detail per
// changed property.
func resourceChangeXML(ch change, withValues, driftAware bool) xmlResourceChange {
	x := xmlResourceChange{
		Action: ch.Action, LogicalResourceId: ch.LogicalID, PhysicalResourceId: ch.PhysicalID,
		ResourceType: ch.Type, Replacement: ch.Replacement, Scope: ch.Scope, PolicyAction: ch.PolicyAction,
	}
	if ch.Nested != nil {
		x.ChangeSetId = ch.Nested.id
	}
	if driftAware && ch.Action != "Add" {
		x.ResourceDriftStatus = "IN_SYNC"
	}
	for _, p := range ch.Props {
		detail := xmlResourceChangeDetail{Evaluation: "Static", ChangeSource: p.ChangeSource, CausingEntity: p.CausingEntity,
			Target: xmlResourceTarget{Attribute: "Properties", Name: p.Name, RequiresRecreation: p.RequiresRecreation}}
		if !withValues {
			x.Details = append(x.Details, detail)
			continue
		}
		for _, l := range p.Leaves {
			d := detail
			d.Target.Path, d.Target.AttributeChangeType = l.Path, l.ChangeType
			if l.ChangeType != "Add" {
				d.Target.BeforeValue = &l.BeforeValue
			}
			if l.ChangeType != "Remove" {
				d.Target.AfterValue = &l.AfterValue
			}
			if driftAware {
				d.Target.BeforeValueFrom, d.Target.AfterValueFrom = "PREVIOUS_DEPLOYMENT_STATE", "TEMPLATE"
			}
			x.Details = append(x.Details, d)
		}
	}
	if withValues {
		if ch.Before != nil {
			x.BeforeContext = contextJSON(ch.Before)
		}
		if ch.After != nil {
			x.AfterContext = contextJSON(ch.After)
		}
	}
	return x
}

func (c *CloudFormation) executeChangeSet(req *request) (any, error) {
	cs, err := c.findChangeSet(req.form)
	if err != nil {
		return nil, err
	}
	now := req.now
	if cs.root != nil {
		return nil, &apiError{Status: http.StatusBadRequest, Code: "InvalidChangeSetStatus",
			Message: fmt.Sprintf("ChangeSet [%s] is a nested change set; execute its root change set [%s]", cs.id, cs.root.id)}
	}
	// AWS words the two refusals differently: a change set still being
	// created (or FAILED) has the wrong status, an executed or obsolete one
	// the wrong execution status.
	if st := cs.status(now); st != "CREATE_COMPLETE" {
		return nil, &apiError{Status: http.StatusBadRequest, Code: "InvalidChangeSetStatus",
			Message: fmt.Sprintf("ChangeSet [%s] cannot be executed in its current status of [%s]", cs.id, st)}
	}
	if es := cs.executionStatus(now); es != "AVAILABLE" {
		return nil, &apiError{Status: http.StatusBadRequest, Code: "InvalidChangeSetStatus",
			Message: fmt.Sprintf("ChangeSet [%s] cannot be executed in its current execution status of [%s]", cs.id, es)}
	}
	st := cs.st
	if cs.csType == "CREATE" && st.status != "REVIEW_IN_PROGRESS" || cs.csType == "UPDATE" && !updatable(st.status) {
		return nil, validationError("Stack:%s is in %s state and can not be updated.", st.id, st.status)
	}
	disable := boolParam(req.form, "DisableRollback")
	st.disableRollback = disable
	st.changeSetID = cs.id
	st.roleARN, st.tags, st.notificationARNs, st.capabilities = cs.roleARN, cs.tags, cs.notificationARNs, cs.capabilities
	cs.execStatus = "EXECUTE_IN_PROGRESS"
	// Executing a change set deletes the stack's other change sets.
	for _, other := range c.changeSets {
		if other.st == st && other != cs {
			other.deleted = true
		}
	}
	c.planOperation(cs, c.scriptFor(st.name), disable, now)
	c.advance(now)
	return emptyResult{}, nil
}

func (c *CloudFormation) deleteChangeSet(req *request) (any, error) {
	cs, err := c.findChangeSet(req.form)
	if err != nil {
		return nil, err
	}
	if es := cs.executionStatus(req.now); es == "EXECUTE_IN_PROGRESS" {
		return nil, &apiError{Status: http.StatusBadRequest, Code: "InvalidChangeSetStatus",
			Message: fmt.Sprintf("ChangeSet [%s] cannot be deleted in its current execution status of [%s]", cs.id, es)}
	}
	if cs.root != nil {
		return nil, &apiError{Status: http.StatusBadRequest, Code: "InvalidChangeSetStatus",
			Message: fmt.Sprintf("ChangeSet [%s] is a nested change set; delete its root change set [%s]", cs.id, cs.root.id)}
	}
	cs.deleted = true
	for _, other := range c.changeSets {
		if other.root == cs {
			other.deleted = true
		}
	}
	return emptyResult{}, nil
}

func (c *CloudFormation) listChangeSets(req *request) (any, error) {
	st, err := c.mustStack(req.form.Get("StackName"))
	if err != nil {
		return nil, err
	}
	var res listChangeSetsResult
	for _, cs := range c.changeSets {
		if cs.st != st || cs.deleted {
			continue
		}
		res.Summaries = append(res.Summaries, xmlChangeSetSummary{
			StackId: st.id, StackName: st.name, ChangeSetId: cs.id, ChangeSetName: cs.name,
			ExecutionStatus: cs.executionStatus(req.now), Status: cs.status(req.now), StatusReason: cs.statusReason(req.now),
			CreationTime: isoTime(cs.created), Description: cs.description, IncludeNestedStacks: cs.includeNested,
		})
	}
	return res, nil
}

func (c *CloudFormation) deleteStack(req *request) (any, error) {
	name := req.form.Get("StackName")
	st := c.findStack(name)
	if st == nil || st.status == "DELETE_COMPLETE" || st.status == "DELETE_IN_PROGRESS" {
		return noResult{}, nil // AWS answers success for stacks that are gone
	}
	if st.terminationProtection {
		return nil, validationError("Stack [%s] cannot be deleted while TerminationProtection is enabled", st.name)
	}
	if strings.HasPrefix(st.status, "UPDATE_") && strings.HasSuffix(st.status, "_IN_PROGRESS") {
		return nil, validationError("Stack [%s] cannot be deleted while in status %s", st.name, st.status)
	}
	if r := req.form.Get("RoleARN"); r != "" {
		st.roleARN = r
	}
	c.planDelete(st, c.scriptFor(st.name), req.now)
	c.advance(req.now)
	return noResult{}, nil
}

func (c *CloudFormation) describeStackEvents(req *request) (any, error) {
	name := req.form.Get("StackName")
	st := c.findStack(name)
	if st == nil {
		return nil, validationError("Stack [%s] does not exist", name)
	}
	before := int64(-1)
	if tok := req.form.Get("NextToken"); tok != "" {
		n, err := decodeToken("events", tok)
		if err != nil {
			return nil, err
		}
		before = n
	}
	// Newest first; a token marks the last event returned, so events that
	// arrive while a caller pages do not shift the pages.
	var res describeStackEventsResult
	for i := len(st.events) - 1; i >= 0; i-- {
		e := st.events[i]
		if before >= 0 && e.seq >= before {
			continue
		}
		if len(res.StackEvents) == c.opts.EventsPageSize {
			res.NextToken = encodeToken("events", res.lastSeq)
			break
		}
		res.StackEvents = append(res.StackEvents, xmlStackEvent{
			StackId: e.stackID, EventId: e.id, StackName: e.stackName, LogicalResourceId: e.logical,
			PhysicalResourceId: e.physical, ResourceType: e.rtype, Timestamp: isoTime(e.at),
			ResourceStatus: e.status, ResourceStatusReason: e.reason,
		})
		res.lastSeq = e.seq
	}
	return res, nil
}

func (c *CloudFormation) summaryTemplate(req *request) (*template, error) {
	tmpl, err := c.templateFrom(req.form)
	if err != nil || tmpl != nil {
		return tmpl, err
	}
	name := req.form.Get("StackName")
	if name == "" {
		return nil, validationError("Either Template URL or Template Body must be specified.")
	}
	st, err := c.mustStack(name)
	if err != nil {
		return nil, err
	}
	if st.tmpl == nil {
		return nil, validationError("Stack with id %s does not exist", name)
	}
	return st.tmpl, nil
}

func (c *CloudFormation) getTemplateSummary(req *request) (any, error) {
	tmpl, err := c.summaryTemplate(req)
	if err != nil {
		return nil, err
	}
	caps, reason := tmpl.requiredCapabilities()
	res := getTemplateSummaryResult{
		Description: tmpl.Description, Capabilities: caps, CapabilitiesReason: reason,
		ResourceTypes: tmpl.resourceTypes(), Version: "2010-09-09", DeclaredTransforms: tmpl.Transforms,
	}
	for _, p := range tmpl.Params {
		res.Parameters = append(res.Parameters, xmlParameterDeclaration{
			ParameterKey: p.Name, DefaultValue: p.Default, ParameterType: p.Type, NoEcho: p.NoEcho,
			Description: p.Description, ParameterConstraints: xmlConstraints{AllowedValues: p.AllowedValues},
		})
	}
	return res, nil
}

func (c *CloudFormation) validateTemplate(req *request) (any, error) {
	tmpl, err := c.templateFrom(req.form)
	if err != nil {
		return nil, err
	}
	if tmpl == nil {
		return nil, validationError("Either Template URL or Template Body must be specified.")
	}
	caps, reason := tmpl.requiredCapabilities()
	res := validateTemplateResult{Description: tmpl.Description, Capabilities: caps, CapabilitiesReason: reason, DeclaredTransforms: tmpl.Transforms}
	for _, p := range tmpl.Params {
		res.Parameters = append(res.Parameters, xmlTemplateParameter{ParameterKey: p.Name, DefaultValue: p.Default, NoEcho: p.NoEcho, Description: p.Description})
	}
	return res, nil
}

func (c *CloudFormation) updateTerminationProtection(req *request) (any, error) {
	st, err := c.mustStack(req.form.Get("StackName"))
	if err != nil {
		return nil, err
	}
	if _, ok := req.form["EnableTerminationProtection"]; !ok {
		return nil, validationError("1 validation error detected: Value null at 'enableTerminationProtection' failed to satisfy constraint: Member must not be null")
	}
	st.terminationProtection = boolParam(req.form, "EnableTerminationProtection")
	return stackIDResult{StackId: st.id}, nil
}
