package testenv

import (
	"bytes"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Screenshot captures the whole screen of an X display (ImageMagick's
// import) and returns it. With SUNOYE_SCREENSHOT_DIR set, it also saves it
// there as name.png, for the README.
func Screenshot(t testing.TB, display, name string) image.Image {
	t.Helper()
	bin := NeedBinary(t, "import", "imagemagick")
	cmd := exec.Command(bin, "-display", display, "-window", "root", "png:-")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("testenv: screenshot of %s: %v: %s", display, err, errb.String())
	}
	img, err := png.Decode(bytes.NewReader(out.Bytes()))
	if err != nil {
		t.Fatalf("testenv: screenshot of %s: %v", display, err)
	}
	if dir := os.Getenv("SUNOYE_SCREENSHOT_DIR"); dir != "" {
		if err := os.WriteFile(filepath.Join(dir, name+".png"), out.Bytes(), 0o644); err != nil {
			t.Errorf("testenv: save screenshot: %v", err)
		}
	}
	return img
}

// Colors counts the distinct colours in a region of img: a blank or
// single-colour window has one or two, rendered text and widgets many.
func Colors(img image.Image, r image.Rectangle) int {
	seen := make(map[[4]uint32]struct{})
	r = r.Intersect(img.Bounds())
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			cr, cg, cb, ca := img.At(x, y).RGBA()
			seen[[4]uint32{cr, cg, cb, ca}] = struct{}{}
		}
	}
	return len(seen)
}
