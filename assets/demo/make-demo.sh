#!/usr/bin/env bash
# Rebuilds the demo library from scikit-image's sample data (see NOTICE). Needs pip and ImageMagick.
#   assets/demo/make-demo.sh
set -euo pipefail
out=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
python3 -m pip download --quiet --no-deps -d "$work" scikit-image==0.26.0
python3 -m zipfile -e "$work"/scikit_image-0.26.0-*.whl "$work/sk"
cd "$work/sk/skimage/data"
fit() { convert "$1" -resize '640x640>' -quality 88 "$out/$2"; }
for f in astronaut camera brick grass gravel chelsea coffee; do fit "$f.png" "$f.jpg"; done
for f in hubble_deep_field rocket retina; do fit "$f.jpg" "$f.jpg"; done
convert horse.png -background white -flatten -resize '640x640>' -quality 88 "$out/horse.jpg"
convert chelsea.png -resize 320x -quality 60 "$out/chelsea_small.jpg"
convert coffee.png -gravity center -crop 85%x85%+0+0 +repage -resize '640x640>' -quality 85 "$out/coffee_crop.jpg"
convert astronaut.png -modulate 115 -resize '640x640>' -quality 80 "$out/astronaut_brighter.jpg"
convert rocket.jpg -flop -resize '640x640>' -quality 85 "$out/rocket_mirrored.jpg"
convert camera.png -resize 400x -quality 70 "$out/camera_copy.jpg"
rm -rf "$work"
