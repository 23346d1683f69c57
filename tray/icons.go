package tray

import (
	"bytes"
	"embed"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"runtime"
	"sync"
)

//go:generate sh assets/generate.sh

// Assets holds the icon set for desktop integration: the hicolor theme
// layout under icons/ (icons/hicolor/<size>x<size>/apps/sunoye.png for
// 16 to 256 pixels, and icons/hicolor/scalable/apps/sunoye.svg), which the
// .desktop file names as Icon=sunoye.
//
//go:embed assets/icons
var Assets embed.FS

// trayIconSize is the size of the tray icon's pixmap: panels scale it to
// their height, which on a HiDPI screen is well above 22 pixels.
const trayIconSize = 64

// iconState is what the tray icon shows.
type iconState struct {
	unread       bool
	disconnected bool
}

var (
	iconsOnce sync.Once
	iconsErr  error
	icons     map[iconState][]byte
)

// iconFor returns the encoded tray icon for a state: PNG, or on Windows an
// ICO around the PNG, which is what each platform's systray wants.
func iconFor(st iconState) ([]byte, error) {
	iconsOnce.Do(func() { icons, iconsErr = renderIcons() })
	if iconsErr != nil {
		return nil, iconsErr
	}
	return icons[st], nil
}

// renderIcons derives the four states from the logo: a red dot for
// unread messages, grey for a lost broker connection. Deriving them here
// keeps the states in step with the logo.
func renderIcons() (map[iconState][]byte, error) {
	name := fmt.Sprintf("assets/icons/hicolor/%dx%d/apps/sunoye.png", trayIconSize, trayIconSize)
	raw, err := Assets.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("tray icon: %w", err)
	}
	logo, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("tray icon %s: %w", name, err)
	}
	out := make(map[iconState][]byte, 4)
	for _, st := range []iconState{{}, {unread: true}, {disconnected: true}, {unread: true, disconnected: true}} {
		img := image.NewNRGBA(logo.Bounds())
		draw.Draw(img, img.Bounds(), logo, logo.Bounds().Min, draw.Src)
		if st.disconnected {
			grey(img)
		}
		if st.unread {
			badge(img)
		}
		var buf bytes.Buffer
		if err := png.Encode(&buf, img); err != nil {
			return nil, fmt.Errorf("tray icon: %w", err)
		}
		b := buf.Bytes()
		if runtime.GOOS == "windows" {
			b = icoOfPNG(b, img.Bounds().Dx(), img.Bounds().Dy())
		}
		out[st] = b
	}
	return out, nil
}

// grey turns img into pale greys at half opacity, the way panels draw
// an inactive application.
func grey(img *image.NRGBA) {
	for i := 0; i+3 < len(img.Pix); i += 4 {
		p := img.Pix[i : i+4 : i+4]
		y := (299*uint32(p[0]) + 587*uint32(p[1]) + 114*uint32(p[2])) / 1000
		y = 96 + y*160/255 // lift the darks so it reads as "off", not "black"
		p[0], p[1], p[2] = uint8(y), uint8(y), uint8(y)
		p[3] = uint8(uint32(p[3]) * 6 / 10)
	}
}

// badge paints a red dot with a white ring in the top right corner, where
// chat apps put their unread mark.
func badge(img *image.NRGBA) {
	b := img.Bounds()
	r := float64(b.Dx()) * 0.22
	cx, cy := float64(b.Max.X)-r-1, float64(b.Min.Y)+r+1
	ring := r + float64(b.Dx())*0.05
	fillCircle(img, cx, cy, ring, color.NRGBA{255, 255, 255, 255})
	fillCircle(img, cx, cy, r, color.NRGBA{220, 38, 38, 255})
}

// fillCircle draws an antialiased disc: each pixel is covered by the
// share of its 4×4 subsamples inside the circle.
func fillCircle(img *image.NRGBA, cx, cy, r float64, c color.NRGBA) {
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			in := 0
			for sy := 0; sy < 4; sy++ {
				for sx := 0; sx < 4; sx++ {
					dx := float64(x) + (float64(sx)+0.5)/4 - cx
					dy := float64(y) + (float64(sy)+0.5)/4 - cy
					if dx*dx+dy*dy <= r*r {
						in++
					}
				}
			}
			if in == 0 {
				continue
			}
			a := uint32(c.A) * uint32(in) / 16
			old := img.NRGBAAt(x, y)
			img.SetNRGBA(x, y, over(c, a, old))
		}
	}
}

// over composites colour c at alpha a (0–255) over dst, non-premultiplied.
func over(c color.NRGBA, a uint32, dst color.NRGBA) color.NRGBA {
	da := uint32(dst.A) * (255 - a) / 255
	oa := a + da
	if oa == 0 {
		return color.NRGBA{}
	}
	mix := func(s, d uint8) uint8 { return uint8((uint32(s)*a + uint32(d)*da) / oa) }
	return color.NRGBA{mix(c.R, dst.R), mix(c.G, dst.G), mix(c.B, dst.B), uint8(oa)}
}

// icoOfPNG wraps a PNG in a one-image ICO file, which Windows (Vista and
// later) reads as it is; the Windows systray loads icons only from ICO.
func icoOfPNG(p []byte, w, h int) []byte {
	dim := func(n int) byte {
		if n >= 256 {
			return 0 // 0 means 256 in an ICO directory
		}
		return byte(n)
	}
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, [3]uint16{0, 1, 1}) // reserved, type icon, one image
	b.Write([]byte{dim(w), dim(h), 0, 0})                     // width, height, no palette, reserved
	binary.Write(&b, binary.LittleEndian, [2]uint16{1, 32})   // planes, bits per pixel
	binary.Write(&b, binary.LittleEndian, [2]uint32{uint32(len(p)), 6 + 16})
	b.Write(p)
	return b.Bytes()
}
