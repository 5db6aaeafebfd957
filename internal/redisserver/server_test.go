package redisserver

import (
	"strings"
	"testing"
	"time"
)

func TestStartStopRestart(t *testing.T) {
	start := time.Now()
	s := StartWith(t, Options{Password: "pw-" + strings.Repeat("x", 8)})
	t.Logf("redis-server ready at %s after %v", s.Addr, time.Since(start).Round(time.Millisecond))
	if !strings.HasPrefix(s.URL(), "redis://:pw-xxxxxxxx@127.0.0.1:") {
		t.Errorf("URL() = %q", s.URL())
	}
	if err := s.ping(); err != nil {
		t.Fatal(err)
	}
	s.Stop()
	if s.Running() || s.ping() == nil {
		t.Fatal("still answering after Stop")
	}
	s.Restart(t)
	if err := s.ping(); err != nil {
		t.Fatalf("after Restart: %v", err)
	}
}
