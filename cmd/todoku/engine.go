package main

import (
	"fmt"

	"github.com/todoku/todoku/dialog"
	"github.com/todoku/todoku/knowledge"
	"github.com/todoku/todoku/knowledge/understand"
)

// newEngine loads the configured embedded pack and builds the dialog engine
// over it. The tokenizer behind the matcher is shared process-wide.
func newEngine(cfg *Config) (*dialog.Engine, error) {
	pack, err := knowledge.EmbeddedPack(cfg.PackID)
	if err != nil {
		return nil, err
	}
	eng, err := dialog.New(pack, understand.New(pack), dialog.Options{
		IdleAfter: cfg.IdleTimeout,
		Threshold: understand.DefaultThreshold,
	})
	if err != nil {
		return nil, fmt.Errorf("pack %s: %w", pack.ID, err)
	}
	return eng, nil
}
