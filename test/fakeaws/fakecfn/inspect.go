package fakecfn

import (
	"fmt"
	"time"
)

// StackSeed describes a stack to pre-create with [CloudFormation.PutStack].
type StackSeed struct {
	Name string
	// Status defaults to CREATE_COMPLETE. An *_IN_PROGRESS status finishes
	// at FinishAt (if set) in FinalStatus (default: the matching *_COMPLETE).
	Status       string
	StatusReason string
	FinishAt     time.Time
	FinalStatus  string
	// TemplateBody is required unless Status is REVIEW_IN_PROGRESS.
	TemplateBody string
	// Parameters are the effective values; template defaults fill the rest.
	Parameters map[string]string
	// Outputs override the values computed from the template.
	Outputs               map[string]string
	Tags                  map[string]string
	RoleARN               string
	TerminationProtection bool
	DisableRollback       bool
	// CreationTime defaults to the clock's now; LastUpdatedTime may be zero.
	CreationTime    time.Time
	LastUpdatedTime time.Time
	Region          string
	AccountID       string
}

// finalStatus maps an in-progress status to where it ends by default.
func finalStatus(status string) string {
	switch status {
	case "CREATE_IN_PROGRESS":
		return "CREATE_COMPLETE"
	case "UPDATE_IN_PROGRESS", "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS":
		return "UPDATE_COMPLETE"
	case "ROLLBACK_IN_PROGRESS":
		return "ROLLBACK_COMPLETE"
	case "UPDATE_ROLLBACK_IN_PROGRESS", "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS":
		return "UPDATE_ROLLBACK_COMPLETE"
	case "DELETE_IN_PROGRESS":
		return "DELETE_COMPLETE"
	}
	return ""
}

// PutStack pre-creates a stack in a given state and returns its id.
func (c *CloudFormation) PutStack(seed StackSeed) (string, error) {
	if seed.Name == "" {
		return "", fmt.Errorf("seeding a stack: Name is empty")
	}
	status := seed.Status
	if status == "" {
		status = "CREATE_COMPLETE"
	}
	var tmpl *template
	if seed.TemplateBody != "" {
		t, err := parseTemplate(seed.TemplateBody)
		if err != nil {
			return "", fmt.Errorf("seeding stack %s: %w", seed.Name, err)
		}
		tmpl = t
	} else if status != "REVIEW_IN_PROGRESS" {
		return "", fmt.Errorf("seeding stack %s: TemplateBody is required for status %s", seed.Name, status)
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.opts.Now()
	c.advance(now)
	if c.findStack(seed.Name) != nil {
		return "", fmt.Errorf("seeding stack %s: a live stack with that name exists", seed.Name)
	}
	region, account := seed.Region, seed.AccountID
	if region == "" {
		region = c.opts.Region
	}
	if account == "" {
		account = c.opts.AccountID
	}
	created := seed.CreationTime
	if created.IsZero() {
		created = now
	}
	st := &stack{
		id: c.stackARN(region, account, seed.Name), name: seed.Name, region: region, account: account,
		created: created, updated: seed.LastUpdatedTime, roleARN: seed.RoleARN,
		terminationProtection: seed.TerminationProtection, disableRollback: seed.DisableRollback,
		physical: map[string]string{}, params: map[string]string{},
	}
	for k, v := range seed.Tags {
		st.tags = append(st.tags, tag{Key: k, Value: v})
	}
	if tmpl != nil {
		st.tmpl = tmpl
		for _, p := range tmpl.Params {
			if p.HasDefault {
				st.params[p.Name] = p.Default
			}
		}
		for k, v := range seed.Parameters {
			st.params[k] = v
		}
		hasResources := status != "ROLLBACK_COMPLETE" && status != "DELETE_COMPLETE" && status != "ROLLBACK_IN_PROGRESS" && status != "ROLLBACK_FAILED"
		if hasResources {
			for _, r := range tmpl.Resources {
				st.physical[r.ID] = physicalID(st, r.ID)
			}
			st.outputs = st.computeOutputs(tmpl, st.params, st.physical, seed.Outputs)
		}
	}
	at := created
	if !seed.LastUpdatedTime.IsZero() {
		at = seed.LastUpdatedTime
	}
	c.stacks = append(c.stacks, st)
	c.setStatus(st, at, status, seed.StatusReason)
	if !isTerminal(status) && !seed.FinishAt.IsZero() {
		final := seed.FinalStatus
		if final == "" {
			final = finalStatus(status)
		}
		st.schedule(step{at: seed.FinishAt, apply: func(st *stack, at time.Time) {
			c.setStatus(st, at, final, "")
			if final == "DELETE_COMPLETE" {
				st.physical = map[string]string{}
			}
		}})
		c.advance(now)
	}
	return st.id, nil
}

// StackInfo is a snapshot of a stack for assertions.
type StackInfo struct {
	ID, Name, Status, StatusReason string
	TemplateBody                   string
	Parameters                     map[string]string // effective values, unmasked
	Outputs                        map[string]string
	Tags                           map[string]string
	RoleARN                        string
	TerminationProtection          bool
	DisableRollback                bool
	Resources                      map[string]string // logical id -> physical id
	CreationTime, LastUpdatedTime  time.Time
}

// Stack returns a snapshot of the live stack with this name or id (or the
// latest deleted one of that name).
func (c *CloudFormation) Stack(nameOrID string) (StackInfo, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.advance(c.opts.Now())
	st := c.findStackAny(nameOrID)
	if st == nil {
		return StackInfo{}, false
	}
	info := StackInfo{
		ID: st.id, Name: st.name, Status: st.status, StatusReason: st.reason,
		Parameters: cloneMap(st.params), Outputs: map[string]string{}, Tags: map[string]string{},
		RoleARN: st.roleARN, TerminationProtection: st.terminationProtection, DisableRollback: st.disableRollback,
		Resources: cloneMap(st.physical), CreationTime: st.created, LastUpdatedTime: st.updated,
	}
	if st.tmpl != nil {
		info.TemplateBody = st.tmpl.Body
	}
	for _, o := range st.outputs {
		info.Outputs[o.Key] = o.Value
	}
	for _, t := range st.tags {
		info.Tags[t.Key] = t.Value
	}
	return info, true
}

// TerminalAt reports when the stack's latest operation reached a terminal
// status on the fake's clock, or the zero time while it is still running.
func (c *CloudFormation) TerminalAt(nameOrID string) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.advance(c.opts.Now())
	if st := c.findStackAny(nameOrID); st != nil {
		return st.terminalAt
	}
	return time.Time{}
}

// Event is a stack event, for assertions.
type Event struct {
	EventID, LogicalResourceID, PhysicalResourceID, ResourceType string
	ResourceStatus, ResourceStatusReason                         string
	Timestamp                                                    time.Time
}

// Events returns the stack's events that have happened so far, newest first.
func (c *CloudFormation) Events(nameOrID string) []Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.advance(c.opts.Now())
	st := c.findStackAny(nameOrID)
	if st == nil {
		return nil
	}
	out := make([]Event, 0, len(st.events))
	for i := len(st.events) - 1; i >= 0; i-- {
		e := st.events[i]
		out = append(out, Event{EventID: e.id, LogicalResourceID: e.logical, PhysicalResourceID: e.physical,
			ResourceType: e.rtype, ResourceStatus: e.status, ResourceStatusReason: e.reason, Timestamp: e.at})
	}
	return out
}

// ChangeSetInfo is a snapshot of a change set, for assertions.
type ChangeSetInfo struct {
	ID, Name, Type, StackName, Status, StatusReason, ExecutionStatus string
	RoleARN                                                          string
	Deleted                                                          bool
	// IncludeNestedStacks, DeploymentMode and ClientToken are as created.
	IncludeNestedStacks bool
	DeploymentMode      string
	ClientToken         string
	// ParentID and RootID are set for nested change sets.
	ParentID, RootID string
}

// ChangeSets returns every change set ever created, oldest first.
func (c *CloudFormation) ChangeSets() []ChangeSetInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.opts.Now()
	c.advance(now)
	var out []ChangeSetInfo
	for _, cs := range c.changeSets {
		info := ChangeSetInfo{ID: cs.id, Name: cs.name, Type: cs.csType, StackName: cs.st.name,
			Status: cs.status(now), StatusReason: cs.statusReason(now), ExecutionStatus: cs.executionStatus(now),
			RoleARN: cs.roleARN, Deleted: cs.deleted, IncludeNestedStacks: cs.includeNested,
			DeploymentMode: cs.deploymentMode, ClientToken: cs.clientToken}
		if cs.parent != nil {
			info.ParentID, info.RootID = cs.parent.id, cs.root.id
		}
		out = append(out, info)
	}
	return out
}
