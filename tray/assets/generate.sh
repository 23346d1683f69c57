#!/bin/sh
# Renders sunoye.svg into the hicolor icon theme layout that the .desktop
# file and the tray use. The PNGs are committed, so building needs none of
# this; run it after changing the SVG. Needs rsvg-convert (Debian:
# librsvg2-bin).
set -eu
cd "$(dirname "$0")"
for size in 16 22 24 32 48 64 128 256; do
	dir=icons/hicolor/${size}x${size}/apps
	mkdir -p "$dir"
	rsvg-convert -w "$size" -h "$size" sunoye.svg -o "$dir/sunoye.png"
done
mkdir -p icons/hicolor/scalable/apps
cp sunoye.svg icons/hicolor/scalable/apps/sunoye.svg
