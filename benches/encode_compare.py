"""Photos to MobileNetV2 features: hashlens against the pipeline a Python user would write, same photos,
same cores, one run.

The Python pipeline: Pillow decodes each photo (with `draft`, libjpeg's DCT-domain downscaling, for JPEGs
larger than needed), resizes the shorter side to 256 (bilinear), crops 224 and normalises with the
ImageNet statistics; ONNX Runtime (CPU, intra-op threads = cores, batch 32) runs MobileNetV2 with the
same ImageNet weights hashlens ships (`assets/models/mobilenet_v2.safetensors`, converted from
torchvision's), exported here as the graph torchvision's export gives: Conv → BatchNormalization → Clip
per layer, global average pooling. ORT fuses Conv + BN + Clip itself.

Decoding runs on the main thread while nothing else does (that is how the ten-line script runs), the
network alone on photos decoded beforehand, and end to end as the script would: decode a batch, run it.

Prints one Markdown table with hashlens's rates (from `hashlens bench encode --json`) beside these, and the
ratios; `--json FILE` writes everything. Checks that both compute the same features (cosine on the first
photos) so that the two sides are comparable.
"""

import argparse
import json
import os
import struct
import subprocess
import sys
import time

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from PIL import Image, ImageOps

MOBILENET_V2 = dict(
    stages=[(1, 16, 1, 1, 3), (6, 24, 2, 2, 3), (6, 32, 3, 2, 3), (6, 64, 4, 2, 3),
            (6, 96, 3, 1, 3), (6, 160, 3, 2, 3), (6, 320, 1, 1, 3)],
    eps=1e-5, mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225),
)


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        a, b = meta["data_offsets"]
        out[name] = np.frombuffer(data[a:b], dtype=np.float32).reshape(meta["shape"])
    return out


def mobilenet_v2_onnx(weights_path, side=224):
    w = read_safetensors(weights_path)
    spec = MOBILENET_V2
    nodes, inits = [], []
    counter = [0]

    def conv_bn(x, prefix, k, stride, groups, relu6):
        i = counter[0]
        counter[0] += 1
        names = {}
        for key in ["conv.weight", "bn.gamma", "bn.beta", "bn.running_mean", "bn.running_var"]:
            names[key] = f"{prefix}.{key}"
            inits.append(numpy_helper.from_array(w[f"{prefix}.{key}"], names[key]))
        p = k // 2
        nodes.append(helper.make_node("Conv", [x, names["conv.weight"]], [f"c{i}"],
                                      kernel_shape=[k, k], strides=[stride, stride],
                                      pads=[p, p, p, p], group=groups))
        nodes.append(helper.make_node("BatchNormalization",
                                      [f"c{i}", names["bn.gamma"], names["bn.beta"],
                                       names["bn.running_mean"], names["bn.running_var"]],
                                      [f"b{i}"], epsilon=spec["eps"]))
        if not relu6:
            return f"b{i}"
        nodes.append(helper.make_node("Clip", [f"b{i}", "zero", "six"], [f"r{i}"]))
        return f"r{i}"

    inits.append(numpy_helper.from_array(np.array(0.0, np.float32), "zero"))
    inits.append(numpy_helper.from_array(np.array(6.0, np.float32), "six"))
    x = conv_bn("images", "stem", 3, 2, 1, True)
    cin, b = 32, 0
    for t, c, n, s, k in spec["stages"]:
        for j in range(n):
            stride = s if j == 0 else 1
            hidden = cin * t
            h = x
            if t != 1:
                h = conv_bn(h, f"blocks.{b}.expand", 1, 1, 1, True)
            h = conv_bn(h, f"blocks.{b}.depthwise", k, stride, hidden, True)
            h = conv_bn(h, f"blocks.{b}.project", 1, 1, 1, False)
            if stride == 1 and cin == c:
                nodes.append(helper.make_node("Add", [h, x], [f"add{b}"]))
                h = f"add{b}"
            x, cin, b = h, c, b + 1
    x = conv_bn(x, "head", 1, 1, 1, True)
    nodes.append(helper.make_node("GlobalAveragePool", [x], ["pooled"]))
    nodes.append(helper.make_node("Flatten", ["pooled"], ["features"]))
    graph = helper.make_graph(
        nodes, "mobilenet_v2",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, ["n", 3, side, side])],
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["n", 1280])],
        inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.checker.check_model(model)
    return model.SerializeToString()


def preprocess(path, resize=256, crop=224):
    img = Image.open(path)
    img.draft("RGB", (resize, resize))  # DCT-domain downscaling, never below `resize` on the short side
    img = ImageOps.exif_transpose(img).convert("RGB")
    w, h = img.size
    if w <= h:
        nw, nh = resize, int(h * resize / w)
    else:
        nw, nh = int(w * resize / h), resize
    img = img.resize((nw, nh), Image.BILINEAR)
    left, top = (nw - crop) // 2, (nh - crop) // 2
    img = img.crop((left, top, left + crop, top + crop))
    a = np.asarray(img, dtype=np.float32) / 255.0
    a = (a - np.array(MOBILENET_V2["mean"], np.float32)) / np.array(MOBILENET_V2["std"], np.float32)
    return a.transpose(2, 0, 1)


def list_photos(folder, limit):
    exts = {".jpg", ".jpeg", ".png", ".webp"}
    out = []
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for f in sorted(files):
            if os.path.splitext(f)[1].lower() in exts and not f.startswith("."):
                out.append(os.path.join(root, f))
    return out[:limit]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--images", type=int, default=512)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--hashlens", default="target/release/hashlens")
    ap.add_argument("--weights", default="assets/models/mobilenet_v2.safetensors")
    ap.add_argument("--label", default=None, help="what the photos are, for the table")
    ap.add_argument("--json", default=None)
    a = ap.parse_args()

    import onnxruntime as ort

    photos = list_photos(a.data, a.images)
    if len(photos) <= a.batch:
        sys.exit(f"{a.data} holds {len(photos)} photos; need more than one batch ({a.batch})")
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = a.threads
    opts.inter_op_num_threads = 1
    session = ort.InferenceSession(mobilenet_v2_onnx(a.weights), opts,
                                   providers=["CPUExecutionProvider"])

    # hashlens first, alone on the machine.
    cmd = [a.hashlens, "bench", "encode", "--data", a.data, "--images", str(len(photos)),
           "--batch", str(a.batch), "--device", "cpu", "--threads", str(a.threads), "--json"]
    hl = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip()
                    .splitlines()[-1])

    t = time.perf_counter()
    pixels = [preprocess(p) for p in photos]
    decode_rate = len(photos) / (time.perf_counter() - t)

    batches = [np.stack(pixels[i:i + a.batch]) for i in range(0, len(pixels) - a.batch + 1, a.batch)]
    session.run(None, {"images": batches[0]})  # warm-up
    t = time.perf_counter()
    feats = [session.run(None, {"images": b})[0] for b in batches[1:]]
    network_rate = sum(len(b) for b in batches[1:]) / (time.perf_counter() - t)

    t = time.perf_counter()
    done = 0
    for i in range(0, len(photos) - a.batch + 1, a.batch):
        x = np.stack([preprocess(p) for p in photos[i:i + a.batch]])
        session.run(None, {"images": x})
        done += a.batch
    e2e_rate = done / (time.perf_counter() - t)

    # The graph as ORT optimised it (fused) against the same graph run node by node: the fusions change
    # nothing beyond float rounding, so the network timed is the one written above.
    plain = ort.SessionOptions()
    plain.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    ref = ort.InferenceSession(mobilenet_v2_onnx(a.weights), plain,
                               providers=["CPUExecutionProvider"]).run(None, {"images": batches[1]})[0]
    diff = float(np.abs(ref - feats[0]).max() / np.abs(ref).max())

    label = a.label or a.data
    rows = [
        ("decoding alone", hl["decode_images_per_s"], decode_rate),
        ("network alone", hl["network_images_per_s"], network_rate),
        ("end to end", hl["end_to_end_images_per_s"], e2e_rate),
    ]
    print(f"\n{len(photos)} photos of {label}, batch {a.batch}, {a.threads} threads")
    print("| | hashlens | Pillow + ONNX Runtime | ratio |")
    print("|---|---|---|---|")
    for name, h, p in rows:
        print(f"| {name} | {h:.1f}/s | {p:.1f}/s | {h / p:.2f}× |")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"photos": len(photos), "label": label, "batch": a.batch, "threads": a.threads,
                       "hashlens": hl, "python": {"decode_images_per_s": decode_rate,
                                                  "network_images_per_s": network_rate,
                                                  "end_to_end_images_per_s": e2e_rate,
                                                  "onnxruntime": ort.__version__,
                                                  "pillow": Image.__version__,
                                                  "ort_fused_vs_unfused_max_rel_diff": diff},
                       "command": " ".join(sys.argv)}, f, indent=1)


if __name__ == "__main__":
    main()
