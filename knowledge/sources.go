package knowledge

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// Source is where facts in a pack come from, graded as the reference grades
// it. Messages cite sources by id (Message.Sources).
type Source struct {
	ID    string `yaml:"id"`
	URL   string `yaml:"url"`
	Grade string `yaml:"grade"` // one of the Grade* constants
	// Unverified marks what the reference could not verify or found in
	// conflict (⚠): like a weak grade, it must be hedged.
	Unverified bool `yaml:"unverified,omitempty"`
	// Note says what the source supports, for reviewers.
	Note string `yaml:"note,omitempty"`
}

// Source grades, as shared/reference grades them.
const (
	GradeOfficial     = "official"      // the service's own help page
	GradeMirror       = "mirror"        // a copy of an official page on another host
	GradeOld          = "old"           // official, but an older or archived version
	GradePress        = "press"         // a carrier column, a reputable outlet, the police
	GradeThirdParty   = "third_party"   // a blog or explainer: a lead, not a fact
	GradeOtherService = "other_service" // another company's help page about SMS in general
)

var grades = []string{GradeOfficial, GradeMirror, GradeOld, GradePress, GradeThirdParty, GradeOtherService}

// firm reports whether a source may be stated without a hedge.
func (s Source) firm() bool {
	return !s.Unverified && (s.Grade == GradeOfficial || s.Grade == GradeMirror || s.Grade == GradeOld || s.Grade == GradePress)
}

// sourceRules checks the sources and their citations: ids unique, https
// addresses, known grades; a message cites only known sources, and one that
// cites only weak or unverified ones says so with one of the pack's hedges.
func (v *validator) sourceRules() {
	byID := map[string]Source{}
	for i, s := range v.p.Sources {
		path := fmt.Sprintf("sources[%d]", i)
		switch _, dup := byID[s.ID]; {
		case strings.TrimSpace(s.ID) == "":
			v.addf(path+".id", "source #%d has no id", i+1)
		case dup:
			v.addf(path+".id", "duplicate source id %q", s.ID)
		default:
			byID[s.ID] = s
		}
		if u, err := url.Parse(s.URL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			v.addf(path+".url", "source %q: url %q is not a web address", s.ID, s.URL)
		}
		if !slices.Contains(grades, s.Grade) {
			v.addf(path+".grade", "source %q: unknown grade %q (want %s)", s.ID, s.Grade, strings.Join(grades, ", "))
		}
	}
	for i, n := range v.p.Nodes {
		for j, m := range n.Messages {
			if len(m.Sources) == 0 {
				continue
			}
			path := fmt.Sprintf("nodes[%d].messages[%d]", i, j)
			firm := false
			for k, id := range m.Sources {
				s, ok := byID[id]
				if !ok {
					v.addf(fmt.Sprintf("%s.sources[%d]", path, k), "node %q: message %d cites unknown source %q", n.ID, j+1, id)
					firm = true // reported; do not also ask for a hedge
					continue
				}
				firm = firm || s.firm()
			}
			if !firm && !v.hedged(m.Text) {
				v.addf(path+".text", "node %q: message %d cites only third-party or unverified sources; hedge it (%s)", n.ID, j+1, strings.Join(v.p.Hedges, ", "))
			}
		}
	}
}

func (v *validator) hedged(text string) bool {
	for _, h := range v.p.Hedges {
		if strings.Contains(text, h) {
			return true
		}
	}
	return false
}
