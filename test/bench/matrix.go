package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws-assume-deploy/aws-assume-deploy/test/fakeaws"
	"github.com/aws-assume-deploy/aws-assume-deploy/test/fakeaws/fakecore"
)

// Item 4: a matrix of jobs assuming the role at once against a throttling
// STS and against one that fails a tenth of the calls with 5xx.
func (b *bench) matrix(ctx context.Context) error {
	fmt.Printf("\n== 4. Matrix: %d concurrent jobs ==\n", b.jobs)
	if err := b.matrixCase(ctx, "throttle", "STS throttling above 20 requests/s (token bucket, burst 20)", func(s *fakeaws.Server) { s.SetThrottle(20, 20) }); err != nil {
		return err
	}
	return b.matrixCase(ctx, "5xx", "STS failing 10% of calls with 503", func(s *fakeaws.Server) { s.SetFailureRate(0.1) })
}

func (b *bench) matrixCase(ctx context.Context, tag, name string, setup func(*fakeaws.Server)) error {
	srv := newFakeSTS()
	defer srv.Close()
	setup(srv)
	jobs := make([]*job, b.jobs)
	cmds := make([]command, b.jobs)
	for i := range jobs {
		j, err := newJob(b.tmp, fmt.Sprintf("matrix-%s-%03d", tag, i))
		if err != nil {
			return err
		}
		in := keysInputs(deployRole)
		in["role-session-name"] = fmt.Sprintf("bench-job-%03d", i)
		jobs[i], cmds[i] = j, actionCommand(b.bin, j, j.env(srv.URL()), in, 90*time.Second)
	}
	start := time.Now()
	ps, err := runAll(ctx, cmds)
	if err != nil {
		return err
	}
	total := time.Since(start)

	walls := durations(ps)
	succeeded := 0
	var failure string
	for i, p := range ps {
		if p.OK() && jobs[i].hasCredentials() {
			succeeded++
		} else if failure == "" {
			failure = tail(p.Out, 3)
		}
	}
	p50, p99 := percentile(walls, 50), percentile(walls, 99)
	rate := float64(succeeded) / float64(len(jobs))
	b.add(row{Item: "4", Measure: fmt.Sprintf("%d jobs, %s: success rate", len(jobs), name), Action: fmt.Sprintf("%.0f%% (%d/%d)", 100*rate, succeeded, len(jobs)),
		Target: "100%", Met: yesNo(succeeded == len(jobs))})
	if failure != "" {
		b.note("item 4, %s: a failed job's last lines: %s", name, strings.ReplaceAll(failure, "\n", " / "))
	}
	b.add(row{Item: "4", Measure: fmt.Sprintf("%d jobs, %s: completion time p50 / p99 (all done in %s)", len(jobs), name, ms(total)),
		Action: ms(p50) + " / " + ms(p99), Target: "p99 ≤ 30 s retry budget", Met: yesNo(p99 <= 30*time.Second+500*time.Millisecond)})

	// Retry delays: the gap between a job's failed call and its next call.
	sessionJob := map[string]string{} // assumed-role access key -> job
	for i, j := range jobs {
		if m, err := j.exported(); err == nil && m["AWS_ACCESS_KEY_ID"] != "" {
			sessionJob[m["AWS_ACCESS_KEY_ID"]] = fmt.Sprintf("bench-job-%03d", i)
		}
	}
	byJob := map[string][]fakecore.Call{}
	for _, r := range srv.Calls() {
		if r.Service != "sts" {
			continue
		}
		jobName := r.Param("RoleSessionName")
		if r.Action == "GetCallerIdentity" {
			jobName = sessionJob[r.AccessKeyID]
		}
		if jobName == "" {
			continue
		}
		byJob[jobName+"/"+r.Action] = append(byJob[jobName+"/"+r.Action], r)
	}
	var first, all []time.Duration
	retried := 0
	for _, rs := range byJob {
		slices.SortFunc(rs, func(x, y fakecore.Call) int { return x.Time.Compare(y.Time) })
		for k := 0; k+1 < len(rs); k++ {
			if rs[k].Status == 200 {
				continue
			}
			d := rs[k+1].Time.Sub(rs[k].Time)
			all = append(all, d)
			if k == 0 {
				first = append(first, d)
				retried++
			}
		}
	}
	calls := len(srv.Calls())
	if len(all) == 0 {
		b.add(row{Item: "4", Measure: fmt.Sprintf("%d jobs, %s: retries jittered (no thundering herd)", len(jobs), name),
			Action: fmt.Sprintf("no call needed a retry (%d calls)", calls), Met: "–"})
		return nil
	}
	p10, p50f, p90 := percentile(first, 10), percentile(first, 50), percentile(first, 90)
	// Full jitter over 0-2 s gives a first retry spread over about 1.6 s
	// between p10 and p90; a fixed backoff would put them all together.
	jittered := len(first) < 5 || float64(p90-p10) >= 0.5*float64(p50f)
	b.add(row{Item: "4", Measure: fmt.Sprintf("%d jobs, %s: retries jittered (no thundering herd)", len(jobs), name),
		Action: fmt.Sprintf("%d retries in %d calls; first-retry delay p10/p50/p90 %s / %s / %s, all retries max %s",
			len(all), calls, ms(p10), ms(p50f), ms(p90), ms(percentile(all, 100))),
		Target: "jittered: p90 − p10 ≥ ½ p50", Met: yesNo(jittered)})
	return nil
}
