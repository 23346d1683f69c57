package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sunoye/sunoye/rooms"
	"github.com/sunoye/sunoye/web"
)

// pngImage returns a w×h PNG, all red.
func pngImage(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for x := range w {
		for y := range h {
			img.Set(x, y, color.RGBA{R: 200, A: 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// fileMessage waits until svc shows a file named name in room.
func fileMessage(t testing.TB, svc *rooms.Service, room rooms.ID, name string) rooms.Message {
	t.Helper()
	var found rooms.Message
	waitFor(t, name+" to arrive", func() bool {
		hist, _ := svc.History(room)
		i := slices.IndexFunc(hist, func(m rooms.Message) bool { return m.File != nil && m.File.Name == name })
		if i >= 0 {
			found = hist[i]
		}
		return i >= 0
	})
	return found
}

// Files in a real browser: a received PNG shows inline (from a blob: URL,
// which the page's CSP allows), an SVG and a text file only as download
// links; an image pasted into the composer and a file chosen with Attach…
// reach the other member whole.
func TestUIFilesInBrowser(t *testing.T) {
	asha, bilal, room := twoMembers(t)
	ctx := context.Background()
	pic := pngImage(t, 40, 30)
	if _, err := bilal.SendFile(ctx, room, "red.png", pic, "a red square"); err != nil {
		t.Fatal(err)
	}
	svg := []byte(`<svg xmlns="http://www.w3.org/2000/svg" onload="document.title='pwned'"><script>document.title='pwned'</script></svg>`)
	if _, err := bilal.SendFile(ctx, room, "evil.svg", svg, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := bilal.SendFile(ctx, room, "notes.txt", []byte("just text\n"), ""); err != nil {
		t.Fatal(err)
	}
	fileMessage(t, asha, room, "notes.txt")

	ui := startUI(t, asha, web.UIOptions{})
	b := browser(t, 3*time.Minute)
	act(t, b, "open the room", chromedp.Navigate(ui.LaunchURL(web.RoomView(room))))
	// The PNG, decoded: its natural size is the image's.
	size := until[[]int](t, b, "the image shown inline", `(() => {
		const img = document.querySelector('.msg .file-image:not([hidden])');
		return img && img.complete && img.naturalWidth > 0 && [img.naturalWidth, img.naturalHeight, img.src.startsWith('blob:') ? 1 : 0];
	})()`)
	if !slices.Equal(size, []int{40, 30, 1}) {
		t.Errorf("image shown as %v, want 40×30 from a blob: URL", size)
	}
	files := until[[]string](t, b, "the three files", `(() => {
		const l = [...document.querySelectorAll('.msg .file')].map(f =>
			f.querySelector('.file-link').textContent + ':' + (f.querySelector('.file-image').hidden ? 'link' : 'image'));
		return l.length === 3 && l;
	})()`)
	if want := []string{"red.png:image", "evil.svg:link", "notes.txt:link"}; !slices.Equal(files, want) {
		t.Errorf("files shown %q, want %q", files, want)
	}
	if title := value(t, b, "read the title", chromedp.Evaluate[string](`document.title`)); strings.Contains(title, "pwned") {
		t.Errorf("the SVG ran script: title %q", title)
	}

	// Paste an image (made on a canvas) into the text box.
	act(t, b, "paste an image", chromedp.Evaluate[chromedp.Void](`(async () => {
		const c = document.createElement('canvas');
		c.width = 12; c.height = 7;
		c.getContext('2d').fillRect(0, 0, 12, 7);
		const blob = await new Promise(r => c.toBlob(r, 'image/png'));
		const dt = new DataTransfer();
		dt.items.add(new File([blob], 'pasted.png', { type: 'image/png' }));
		document.querySelector('.composer .text').dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }));
	})()`, chromedp.EvalAsValue))
	got := fileMessage(t, bilal, room, "pasted.png")
	if got.File.Type != "image/png" || got.Sender != asha.Me() {
		t.Errorf("Bilal received %+v from %s", got.File, got.Sender)
	}

	// Drop a file on the room.
	act(t, b, "drop a file", chromedp.Evaluate[chromedp.Void](`(() => {
		const dt = new DataTransfer();
		dt.items.add(new File(['dropped text'], 'dropped.txt', { type: 'text/plain' }));
		document.querySelector('.messages').dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
	})()`))
	got = fileMessage(t, bilal, room, "dropped.txt")
	if _, data, err := bilal.File(room, got.ID); err != nil || string(data) != "dropped text" || got.File.Type != "application/octet-stream" {
		t.Errorf("Bilal's copy of dropped.txt: %q (%+v), %v", data, got.File, err)
	}

	// Choose a file with Attach….
	path := filepath.Join(t.TempDir(), "report.pdf")
	report := append([]byte("%PDF-1.7\n"), bytes.Repeat([]byte("x"), 300<<10)...)
	if err := os.WriteFile(path, report, 0o600); err != nil {
		t.Fatal(err)
	}
	act(t, b, "attach a file", chromedp.SetUploadFiles(".composer .file-input", []string{path}))
	got = fileMessage(t, bilal, room, "report.pdf")
	if _, data, err := bilal.File(room, got.ID); err != nil || !bytes.Equal(data, report) {
		t.Errorf("Bilal's copy of report.pdf: %d bytes, %v", len(data), err)
	}
	// Both show in Asha's window, as sent.
	until[bool](t, b, "the sent files in the window", `(() => {
		const names = [...document.querySelectorAll('.msg.own .file-link')].map(a => a.textContent);
		return names.includes('pasted.png') && names.includes('report.pdf');
	})()`)
}

// The file endpoints: only with a session; an image by its sniffed type,
// anything else (an SVG too) as an attachment, nosniff either way, a safe
// name; an upload over 8 MiB refused before it is read whole.
func TestUIFileEndpoint(t *testing.T) {
	asha, bilal, room := twoMembers(t)
	ctx := context.Background()
	pic := pngImage(t, 4, 4)
	if _, err := bilal.SendFile(ctx, room, "../../.bashrc", pic, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := bilal.SendFile(ctx, room, "x.svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`), ""); err != nil {
		t.Fatal(err)
	}
	img := fileMessage(t, asha, room, "../../.bashrc")
	svg := fileMessage(t, asha, room, "x.svg")
	ui := startUI(t, asha, web.UIOptions{})
	c := sessionClient(t, ui, web.RoomView(room))
	base := ui.Origin() + "/v1/rooms/" + string(room) + "/files/"

	for _, tc := range []struct {
		url, ctype, disposition string
		body                    []byte
	}{
		{base + img.ID, "image/png", `inline; filename=bashrc`, pic},
		{base + img.ID + "?download=1", "application/octet-stream", `attachment; filename=bashrc`, pic},
		{base + svg.ID, "application/octet-stream", `attachment; filename=x.svg`, nil},
	} {
		resp, err := c.Get(tc.url)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		h := resp.Header
		if resp.StatusCode != http.StatusOK || h.Get("Content-Type") != tc.ctype || h.Get("Content-Disposition") != tc.disposition ||
			h.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(h.Get("Content-Security-Policy"), "sandbox") {
			t.Errorf("GET %s: %s, headers %v", tc.url, resp.Status, h)
		}
		if tc.body != nil && !bytes.Equal(body, tc.body) {
			t.Errorf("GET %s: %d bytes, want the %d sent", tc.url, len(body), len(tc.body))
		}
	}
	// Without a session: nothing.
	resp, err := http.Get(base + img.ID)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET without a session: %s", resp.Status)
	}
	// Unknown message: no_file.
	resp, err = c.Get(base + "nosuchid")
	if err != nil {
		t.Fatal(err)
	}
	var e web.ErrorJSON
	json.NewDecoder(resp.Body).Decode(&e)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound || e.Code != web.CodeNoFile {
		t.Errorf("GET an unknown file: %s %+v", resp.Status, e)
	}
	// Too large: refused with too_large, whether announced or not.
	for _, chunked := range []bool{false, true} {
		var body io.Reader = bytes.NewReader(make([]byte, rooms.MaxFileBytes+1))
		if chunked {
			body = io.MultiReader(body) // no length: read up to the limit
		}
		req, _ := http.NewRequest(http.MethodPost, ui.Origin()+"/v1/rooms/"+string(room)+"/files?name=big.bin", body)
		req.Header.Set("Origin", ui.Origin())
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		e = web.ErrorJSON{}
		json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge || e.Code != web.CodeTooLarge {
			t.Errorf("upload of 8 MiB + 1 (chunked %v): %s %+v", chunked, resp.Status, e)
		}
	}
}
