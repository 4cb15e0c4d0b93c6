package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"
)

// Item 5: binary and image size, and the action's own start cost against
// `node -e 0`, the runtime start of a JavaScript action.
func (b *bench) footprint(ctx context.Context) error {
	fmt.Println("\n== 5. Footprint ==")
	st, err := os.Stat(b.bin)
	if err != nil {
		return err
	}
	const mb = 1000 * 1000
	const distrolessBase = 2 * mb // gcr.io/distroless/static-debian12, approximately
	binSize := st.Size()
	b.add(row{Item: "5", Measure: "binary size (stripped, -trimpath, as in the Dockerfile)", Action: fmt.Sprintf("%.1f MB", float64(binSize)/mb)})
	certs := int64(0)
	certNote := ""
	if cs, err := os.Stat("/etc/ssl/certs/ca-certificates.crt"); err == nil {
		certs = cs.Size()
	} else {
		certNote = " (ca-certificates.crt not found here: counted as 0)"
	}
	image := binSize + certs + distrolessBase
	b.add(row{Item: "5", Measure: "image size, estimated: binary + CA certificates + distroless/static base (~2 MB)" + certNote,
		Action: fmt.Sprintf("%.1f MB", float64(image)/mb), Target: "≤ 20 MB", Met: yesNo(image <= 20*mb)})

	j, err := newJob(b.tmp, "start")
	if err != nil {
		return err
	}
	// No inputs at all: the action validates, reports every problem and
	// exits 1 before any network call.
	invalid := actionCommand(b.bin, j, j.env(""), nil, 30*time.Second)
	node := command{Path: b.tools.node.Path, Args: []string{"-e", "0"}, Dir: j.Workspace, Env: environ(j.env("")), Timeout: 30 * time.Second}
	var acts, nodes []proc
	var ratios []float64
	for i := -1; i < b.startRounds; i++ {
		p, err := run(ctx, invalid)
		if err != nil {
			return err
		}
		if p.Code != 1 || !strings.Contains(p.Out, "aws-region") {
			return fmt.Errorf("the action with no inputs exited %d, want 1 naming aws-region:\n%s", p.Code, tail(p.Out, 10))
		}
		var n proc
		if b.tools.node.ok() {
			if n, err = run(ctx, node); err != nil {
				return err
			}
		}
		if i < 0 {
			continue // warm-up
		}
		acts = append(acts, p)
		if b.tools.node.ok() {
			nodes = append(nodes, n)
			ratios = append(ratios, float64(n.Wall)/float64(p.Wall))
		}
	}
	r := row{Item: "5", Measure: fmt.Sprintf("start cost: a run with invalid inputs (exit 1) vs `node -e 0`, median of %d", len(acts)),
		Action: fmt.Sprintf("%s, %s", ms(median(durations(acts))), mib(medianRSS(acts)))}
	if b.tools.node.ok() {
		r.Peer = fmt.Sprintf("node %s: %s, %s", b.tools.node.Version, ms(median(durations(nodes))), mib(medianRSS(nodes)))
		r.Ratio = ratio(median(ratios))
	} else {
		r.Peer = "node: missing"
	}
	b.add(r)
	return nil
}
