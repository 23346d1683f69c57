# SunOye. `make test` is the test command CI runs (.ci/run).
GO ?= go
export PATH := $(PATH):/usr/local/go/bin

.PHONY: build up test bench vet fmt

# sunoye (daemon and CLI), sunoye-window (the chat windows; links WebKit) and
# sunoye-strength (estimates chosen passwords)
# go side by side: the daemon runs the programs found beside it.
build:
	$(GO) build -o bin/ ./cmd/sunoye ./cmd/sunoye-window ./cmd/sunoye-strength

# Start SunOye on its embedded defaults (broker on 127.0.0.1:1883,
# registry in ~/.local/state/sunoye).
up: build
	bin/sunoye up

# The builds without cgo and for Windows (the browser instead of the
# webview window) must keep compiling; the tests need the real parts.
test:
	$(GO) vet ./...
	CGO_ENABLED=0 $(GO) build ./...
	GOOS=windows CGO_ENABLED=0 $(GO) build -tags nowebview ./...
	$(GO) test -count=1 -timeout 20m ./...

# Benchmarks compare against baselines in the same run (raw Paho and the
# original Python stack over the same broker, a daemon without rooms, headless
# Chromium); docs/performance.md quotes their medians, with the command for
# each figure. The daemon-scale benchmark alone takes about 20 minutes.
# Summarise with: go run golang.org/x/perf/cmd/benchstat@latest bench.txt
bench:
	$(GO) test -run '^$$' -bench . -benchmem -count 5 -timeout 90m ./... | tee bench.txt

vet:
	$(GO) vet ./...

fmt:
	gofmt -l -w $$(git ls-files '*.go')
