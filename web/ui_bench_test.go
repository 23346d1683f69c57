package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sunoye/sunoye/web"
)

// BenchmarkUIMessageToPage measures how long a message takes from
// Service.Send on another member to its element in the chat window's page
// (headless Chromium, the room view open), beside the same message seen
// through the plain API (the history polled over HTTP) as the baseline:
// the difference is the event stream and the page's rendering.
//
// Metrics: p50-ms and p99-ms of the latency; ns/op includes the polling.
func BenchmarkUIMessageToPage(b *testing.B) {
	asha, bilal, room := twoMembers(b)
	ui := startUI(b, asha, web.UIOptions{})
	ctx := context.Background()

	b.Run("page", func(b *testing.B) {
		page := browser(b, 10*time.Minute)
		act(b, page, "open the room", chromedp.Navigate(ui.LaunchURL(web.RoomView(room))),
			chromedp.WaitVisible(chromedp.CSS("textarea.text")))
		// Stamp each message element as it is added, on the same clock as
		// Go's (epoch milliseconds, sub-millisecond resolution).
		act(b, page, "observe the message list", chromedp.Evaluate[chromedp.Void](`(() => {
			window.arrivals = new Map();
			new MutationObserver(muts => {
				const now = performance.timeOrigin + performance.now();
				for (const m of muts) for (const n of m.addedNodes) {
					const body = n.querySelector && n.querySelector('.body');
					if (body && !window.arrivals.has(body.textContent)) window.arrivals.set(body.textContent, now);
				}
			}).observe(document.querySelector('.messages'), { childList: true });
		})()`))
		// Wait until the event stream delivers: a message sent now shows.
		if _, err := bilal.Send(ctx, room, "warm-up"); err != nil {
			b.Fatal(err)
		}
		until[bool](b, page, "the warm-up message", `window.arrivals.has('warm-up')`)

		var lat []time.Duration
		for i := 0; b.Loop(); i++ {
			text := "page " + strconv.Itoa(i)
			t0 := time.Now()
			if _, err := bilal.Send(ctx, room, text); err != nil {
				b.Fatal(err)
			}
			at, err := chromedp.Run(page, chromedp.Poll[float64](fmt.Sprintf(`window.arrivals.get(%q)`, text),
				chromedp.WithPollingInterval(time.Millisecond), chromedp.WithPollingTimeout(30*time.Second)))
			if err != nil {
				b.Fatalf("message %d never showed: %v", i, err)
			}
			lat = append(lat, time.UnixMicro(int64(at*1000)).Sub(t0))
		}
		reportPercentiles(b, lat)
	})

	b.Run("api-history", func(b *testing.B) {
		hc := sessionClient(b, ui, web.RoomView(room))
		u := ui.Origin() + "/v1/rooms/" + string(room) + "/messages"
		var lat []time.Duration
		for i := 0; b.Loop(); i++ {
			text := "api " + strconv.Itoa(i)
			t0 := time.Now()
			if _, err := bilal.Send(ctx, room, text); err != nil {
				b.Fatal(err)
			}
			for !lastMessageIs(b, hc, u, text) {
				if time.Since(t0) > 30*time.Second {
					b.Fatalf("message %d never reached the history", i)
				}
			}
			lat = append(lat, time.Since(t0))
		}
		reportPercentiles(b, lat)
	})
}

func lastMessageIs(b *testing.B, hc *http.Client, u, text string) bool {
	resp, err := hc.Get(u)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var hist []web.MessageJSON
	if err := json.NewDecoder(resp.Body).Decode(&hist); err != nil {
		b.Fatal(err)
	}
	return len(hist) > 0 && hist[len(hist)-1].Text == text
}

// reportPercentiles reports the median and the 99th percentile of lat.
func reportPercentiles(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	at := func(p float64) float64 {
		i := min(int(p*float64(len(lat))), len(lat)-1)
		return float64(lat[i].Microseconds()) / 1000
	}
	b.ReportMetric(at(0.50), "p50-ms")
	b.ReportMetric(at(0.99), "p99-ms")
}
