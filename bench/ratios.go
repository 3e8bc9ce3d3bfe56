package bench

import (
	"fmt"
	"io"
	"math"
	"strings"
)

// RatioPeers are the columns of the ratio table: stargate's msg/s divided
// by each peer's, per scenario.
var RatioPeers = []string{Blaster.Name, JavaPerf, PulsarGo.Name, JavaClient}

// WriteRatios prints a markdown table of stargate ÷ peer (msg/s) for every
// scenario in rs that has a stargate row. A cell is "n/a" when either row
// has no rate (not applicable, failed, or no message), never a number
// made up from a missing one.
func WriteRatios(w io.Writer, rs []Result) error {
	rate := map[[2]string]float64{}
	var scenarios []string
	for _, r := range rs {
		if r.NA || r.Err != "" || r.Msgs <= 0 {
			continue
		}
		k := [2]string{r.Client, r.Scenario}
		rate[k] = r.Rate()
		if r.Client == Stargate.Name {
			scenarios = append(scenarios, r.Scenario)
		}
	}
	var b strings.Builder
	b.WriteString("| scenario | stargate msg/s |")
	for _, p := range RatioPeers {
		fmt.Fprintf(&b, " ÷ %s |", p)
	}
	b.WriteString("\n|---|---|" + strings.Repeat("---|", len(RatioPeers)) + "\n")
	for _, sc := range scenarios {
		s := rate[[2]string{Stargate.Name, sc}]
		fmt.Fprintf(&b, "| %s | %s |", sc, fmtNum(s))
		for _, p := range RatioPeers {
			v, ok := rate[[2]string{p, sc}]
			if !ok || v <= 0 || math.IsNaN(v) {
				b.WriteString(" n/a |")
				continue
			}
			fmt.Fprintf(&b, " %s |", fmtNum(s/v))
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}
