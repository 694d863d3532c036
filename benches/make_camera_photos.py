"""Camera-sized test photos from small ones: each input is upscaled to 4032 × 3024 (12 MP, a phone's
sensor), given sensor-like grain so that it compresses like a real photo (3–6 MB at quality 92, not the
few hundred kilobytes a smooth upscale would give), and saved as a JPEG at quality 92. Every fourth is
stored sideways with an EXIF orientation tag (6: rotate 90° clockwise to view), as phones do.

    python benches/make_camera_photos.py --from DIR --out DIR [--count 200]

Never committed: the files are large; this script makes them again.
"""

import argparse
import os

import numpy as np
from PIL import Image


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--from", dest="src", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--count", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    os.makedirs(a.out, exist_ok=True)
    srcs = []
    for root, dirs, files in os.walk(a.src):
        dirs.sort()
        srcs += [os.path.join(root, f) for f in sorted(files) if f.lower().endswith((".jpg", ".jpeg", ".png"))]
    step = max(1, len(srcs) // a.count)
    for i, src in enumerate(srcs[::step][: a.count]):
        img = Image.open(src).convert("RGB").resize((4032, 3024), Image.BICUBIC)
        px = np.asarray(img, dtype=np.float32)
        grain = rng.normal(0, 5, size=(3024 // 2, 4032 // 2, 1)).repeat(2, 0).repeat(2, 1)
        px = np.clip(px + grain + rng.normal(0, 2.5, size=px.shape), 0, 255).astype(np.uint8)
        img = Image.fromarray(px)
        name = os.path.join(a.out, f"IMG_{i:04d}.jpg")
        if i % 4 == 3:
            exif = Image.Exif()
            exif[0x0112] = 6
            img.transpose(Image.ROTATE_90).save(name, quality=92, exif=exif)
        else:
            img.save(name, quality=92)


if __name__ == "__main__":
    main()
