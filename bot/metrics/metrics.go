// Package metrics defines the Prometheus metrics the service exports on
// /metrics. They live on their own registry so tests can read them and no
// global default state leaks between packages.
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Registry holds every todoku metric plus the Go and process collectors.
var Registry = prometheus.NewRegistry()

var (
	// WebhookRequests counts POST /callback requests by HTTP status.
	WebhookRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "todoku_webhook_requests_total",
		Help: "Webhook requests by HTTP status code.",
	}, []string{"status"})

	// Events counts accepted webhook events by type ("duplicate" for redeliveries skipped).
	Events = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "todoku_events_total",
		Help: "Webhook events by type, and duplicates skipped.",
	}, []string{"type"})

	// ProcessingSeconds measures from inbox commit to the reply being handed to LINE.
	ProcessingSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "todoku_event_processing_seconds",
		Help:    "Time from accepting an event to finishing its processing.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	})

	// LineAPICalls counts Messaging API calls by endpoint and status code ("error" for transport errors).
	LineAPICalls = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "todoku_line_api_calls_total",
		Help: "LINE Messaging API calls by endpoint and status.",
	}, []string{"endpoint", "status"})

	// InboxBacklog is the number of accepted events not yet processed.
	InboxBacklog = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "todoku_inbox_backlog",
		Help: "Accepted webhook events waiting to be processed.",
	})

	// BatchEvents counts the events each batch of chats ran together
	// (batches of one chat go the one-chat way and are not counted).
	BatchEvents = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "todoku_batch_events",
		Help:    "Events whose turns ran in one transaction, per batch of several chats.",
		Buckets: []float64{1, 2, 4, 8, 16, 32, 64},
	})

	// DeliveryFailures counts outgoing messages given up on after retries.
	DeliveryFailures = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "todoku_delivery_failures_total",
		Help: "Outgoing messages marked failed after bounded retries.",
	})
)

func init() {
	Registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		WebhookRequests, Events, ProcessingSeconds, LineAPICalls, InboxBacklog, DeliveryFailures, BatchEvents,
	)
}
