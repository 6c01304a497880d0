package analyze

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/sipalive/sipalive/capture"
	"github.com/sipalive/sipalive/capture/sip"
)

// FlowMessage is one arrow of a call flow.
type FlowMessage struct {
	Time      time.Time      `json:"time"`
	Src       netip.AddrPort `json:"src"`
	Dst       netip.AddrPort `json:"dst"`
	Label     string         `json:"label"`            // "INFO", "200 OK (INFO)"
	Status    int            `json:"status,omitempty"` // a response's status code
	Request   bool           `json:"request"`
	KeepAlive bool           `json:"keepalive"` // a session keep-alive request or its answer
	SDP       bool           `json:"sdp"`
	Transport string         `json:"transport"`

	key string // branch and CSeq method: a request's and its answers'
}

// Flow is the ladder of one Call-ID.
type Flow struct {
	CallID   string        `json:"call_id"`
	Parties  []string      `json:"parties"`
	Agents   []string      `json:"agents"`
	Messages []FlowMessage `json:"messages"`
}

// FlowCollector keeps the messages of the Call-IDs that start with a given
// prefix, for drawing. Matching by prefix lets users paste the short form
// the tables print.
type FlowCollector struct {
	prefix  string
	msg     sip.Message
	flows   map[string]*Flow
	order   []string
	agents  map[netip.AddrPort]string
	proxies map[netip.AddrPort]bool // addresses that relay requests (see relayed)
	pending map[string]bool         // keep-alive transactions by branch, to mark their answers
}

// NewFlowCollector collects the flows of Call-IDs starting with prefix
// (a trailing "…" as the tables print it is ignored).
func NewFlowCollector(prefix string) *FlowCollector {
	return &FlowCollector{
		prefix:  strings.TrimSuffix(prefix, "…"),
		flows:   map[string]*Flow{},
		agents:  map[netip.AddrPort]string{},
		proxies: map[netip.AddrPort]bool{},
		pending: map[string]bool{},
	}
}

// Message takes one captured message.
func (fc *FlowCollector) Message(cm *capture.Message) {
	if cm.Kind != capture.SIP {
		return
	}
	m := &fc.msg
	if err := sip.Parse(cm.Payload, m); err != nil || !strings.HasPrefix(string(m.CallID), fc.prefix) {
		return
	}
	id := string(m.CallID)
	f, ok := fc.flows[id]
	if !ok {
		f = &Flow{CallID: id}
		fc.flows[id] = f
		fc.order = append(fc.order, id)
	}
	key := string(m.Via.Branch) + "|" + string(m.CSeqMethod)
	fm := FlowMessage{Time: cm.Time, Src: cm.Src, Dst: cm.Dst, Request: m.Request, SDP: m.HasSDP(), Transport: cm.Transport.String(), key: key}
	if m.Request {
		fm.Label = string(m.Method)
		if Classify(m) == ClassSessionKeepAlive {
			fm.KeepAlive = true
			fc.pending[key] = true
			// Answers recorded before the request (see Analyzer.park)
			// are its answers too.
			for i := len(f.Messages) - 1; i >= max(0, len(f.Messages)-16); i-- {
				if p := &f.Messages[i]; !p.Request && p.key == key {
					p.KeepAlive = true
				}
			}
		}
	} else {
		fm.Label = fmt.Sprintf("%d %s (%s)", m.Status, m.Reason, m.CSeqMethod)
		fm.Status = m.Status
		fm.KeepAlive = fc.pending[key]
	}
	if relayed(m) {
		fc.proxies[cm.Src] = true
	}
	// A proxy is named only by the requests it originates, not by what it
	// relays.
	if ua := firstNonEmpty(m.UserAgent, m.Server); ua != "" && (!fc.proxies[cm.Src] || m.Request && !relayed(m)) {
		if _, ok := fc.agents[cm.Src]; !ok {
			fc.agents[cm.Src] = ua
		}
	}
	f.Messages = append(f.Messages, fm)
}

func firstNonEmpty(vals ...[]byte) string {
	for _, v := range vals {
		if len(v) > 0 {
			return string(v)
		}
	}
	return ""
}

// Flows returns the collected flows, each with its parties in order of
// first appearance.
func (fc *FlowCollector) Flows() []*Flow {
	var out []*Flow
	for _, id := range fc.order {
		f := fc.flows[id]
		seen := map[netip.AddrPort]bool{}
		for _, m := range f.Messages {
			for _, p := range []netip.AddrPort{m.Src, m.Dst} {
				if !seen[p] {
					seen[p] = true
					f.Parties = append(f.Parties, p.String())
					name := VendorName(fc.agents[p])
					if name == "" && fc.proxies[p] {
						name = "(proxy)"
					}
					f.Agents = append(f.Agents, name)
				}
			}
		}
		out = append(out, f)
	}
	return out
}

// relayed reports whether m is a request a proxy forwarded (see
// Event.relayed).
func relayed(m *sip.Message) bool { return m.Request && m.Vias > 1 }
