package bot

import (
	"context"
	"log/slog"
	"time"
)

// ProfileSource reads a user's display name from LINE (lineapi.Client).
type ProfileSource interface {
	DisplayName(ctx context.Context, userID string) (string, error)
}

// profileMaxAge is how long a fetched display name is good for.
const profileMaxAge = 24 * time.Hour

// refreshProfiles fills the display names of users whose conversation
// opened, best effort and off the reply path, until stop is closed: at
// most once per user a day in this process, one at a time. What it could
// not fetch is left for the user's next conversation.
func (p *Processor) refreshProfiles(ctx context.Context, stop <-chan struct{}) {
	fetched := map[string]time.Time{}
	for {
		var id string
		select {
		case <-stop:
			return
		case id = <-p.profile:
		}
		now := p.Now()
		if at, ok := fetched[id]; ok && now.Sub(at) < profileMaxAge {
			continue
		}
		if len(fetched) > 10000 {
			clear(fetched)
		}
		fetched[id] = now
		name, err := p.Profiles.DisplayName(ctx, id)
		if err == nil {
			err = p.store.SetDisplayName(ctx, id, name, now)
		}
		if err != nil {
			p.Logger.Debug("display name not fetched", slog.Any("error", err))
		}
	}
}
