package mqttx

import (
	"context"
	"log/slog"
	"slices"
)

// dropAttrs wraps h to remove the attributes with the given keys. Mochi
// logs whole packets ("pk"), payload included, when it fails to process
// one; SunOye logs no payloads, even encrypted ones.
func dropAttrs(h slog.Handler, keys ...string) slog.Handler {
	return &dropHandler{h: h, keys: keys}
}

type dropHandler struct {
	h    slog.Handler
	keys []string
}

func (d *dropHandler) Enabled(ctx context.Context, l slog.Level) bool { return d.h.Enabled(ctx, l) }

func (d *dropHandler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	r.Attrs(func(a slog.Attr) bool {
		if !slices.Contains(d.keys, a.Key) {
			out.AddAttrs(a)
		}
		return true
	})
	return d.h.Handle(ctx, out)
}

func (d *dropHandler) WithAttrs(as []slog.Attr) slog.Handler {
	as = slices.DeleteFunc(slices.Clone(as), func(a slog.Attr) bool { return slices.Contains(d.keys, a.Key) })
	return &dropHandler{h: d.h.WithAttrs(as), keys: d.keys}
}

func (d *dropHandler) WithGroup(name string) slog.Handler {
	return &dropHandler{h: d.h.WithGroup(name), keys: d.keys}
}
