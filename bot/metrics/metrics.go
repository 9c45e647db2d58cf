// Package metrics defines the Prometheus metrics the service exports on
// /metrics. Each Metrics value has its own registry, handed to the parts
// that count (webhook, pipeline, LINE client): no global state, so tests
// can run side by side and read what they counted.
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics holds every todoku metric and the registry that exports them with
// the Go and process collectors.
type Metrics struct {
	Registry *prometheus.Registry

	// WebhookRequests counts POST /callback requests by HTTP status.
	WebhookRequests *prometheus.CounterVec
	// Events counts webhook events by type, and duplicates skipped.
	Events *prometheus.CounterVec
	// ProcessingSeconds measures from inbox commit to the reply being handed to LINE.
	ProcessingSeconds prometheus.Histogram
	// LineAPICalls counts Messaging API calls by endpoint and status code ("error" for transport errors).
	LineAPICalls *prometheus.CounterVec
	// InboxBacklog is the number of accepted events not yet processed.
	InboxBacklog prometheus.Gauge
	// BatchEvents counts the events whose turns ran in one transaction.
	BatchEvents prometheus.Histogram
	// DeliveryFailures counts outgoing messages given up on after retries.
	DeliveryFailures prometheus.Counter
	// EventsMissed counts events too old to answer (Processor.MaxEventAge),
	// by type: logged for staff, not answered.
	EventsMissed *prometheus.CounterVec
}

// New returns the metrics on a registry of their own.
func New() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		WebhookRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "todoku_webhook_requests_total",
			Help: "Webhook requests by HTTP status code.",
		}, []string{"status"}),
		Events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "todoku_events_total",
			Help: "Webhook events by type (redeliveries included), and duplicates skipped.",
		}, []string{"type"}),
		ProcessingSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "todoku_event_processing_seconds",
			Help:    "Time from accepting an event to finishing its processing.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}),
		LineAPICalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "todoku_line_api_calls_total",
			Help: "LINE Messaging API calls by endpoint and status.",
		}, []string{"endpoint", "status"}),
		InboxBacklog: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "todoku_inbox_backlog",
			Help: "Accepted webhook events waiting to be processed.",
		}),
		BatchEvents: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "todoku_batch_events",
			Help:    "Events whose turns ran in one transaction, per batch of chats.",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64},
		}),
		DeliveryFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "todoku_delivery_failures_total",
			Help: "Outgoing messages marked failed after bounded retries.",
		}),
		EventsMissed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "todoku_events_missed_total",
			Help: "Events too old to answer when their turn ran (MAX_EVENT_AGE), by type: logged as missed, not answered.",
		}, []string{"type"}),
	}
	m.Registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.WebhookRequests, m.Events, m.ProcessingSeconds, m.LineAPICalls, m.InboxBacklog, m.DeliveryFailures, m.BatchEvents,
		m.EventsMissed,
	)
	return m
}
