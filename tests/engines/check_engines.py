"""Load a `hashlens export` into the real engine and answer queries, for the export test
(app/tests/cli/engines.rs), which compares the answers with `hashlens search`.

    check_engines.py --prefix PREFIX --engine faiss|milvus --queries 0,5,7 (--k 10 | --radius R)

Queries are photos of the export, by id; their codes are read back from the engine's own files. Prints
one JSON line: {"engine", "bits", "count", "results": {"ID": [[id, distance], ...]}}, each list ordered
by (distance, id). Exits with 3 and a one-line reason when the engine's Python package is missing.
"""

import argparse
import json
import sys
import tempfile


def faiss_results(prefix, queries, k, radius):
    import faiss
    import numpy as np

    index = faiss.read_index_binary(prefix + ".faiss")
    codes = faiss.rev_swig_ptr(index.xb.data(), index.ntotal * index.code_size)
    codes = np.array(codes, dtype=np.uint8).reshape(index.ntotal, index.code_size)
    results = {}
    for q in queries:
        x = codes[q : q + 1]
        if radius is None:
            d, i = index.search(x, k)
            pairs = [(int(a), int(b)) for a, b in zip(i[0], d[0]) if a >= 0]
        else:
            # FAISS's binary range search keeps distances strictly below its radius.
            lims, d, i = index.range_search(x, radius + 1)
            pairs = [(int(a), int(b)) for a, b in zip(i[lims[0] : lims[1]], d[lims[0] : lims[1]])]
        results[str(q)] = sorted(pairs, key=lambda p: (p[1], p[0]))
    return index.d, index.ntotal, results


def milvus_results(prefix, queries, k, radius):
    from pymilvus import DataType, MilvusClient

    with open(prefix + ".milvus.schema.json") as f:
        spec = json.load(f)
    with open(prefix + ".milvus.json") as f:
        rows = json.load(f)
    rows = rows["rows"] if isinstance(rows, dict) else rows
    fields = {f["name"]: f for f in spec["fields"]}
    bits = fields["code"]["dim"]
    with tempfile.TemporaryDirectory() as tmp:
        client = MilvusClient(tmp + "/milvus.db")
        schema = MilvusClient.create_schema(auto_id=False)
        schema.add_field("id", DataType.INT64, is_primary=True)
        schema.add_field("path", DataType.VARCHAR, max_length=fields["path"]["max_length"])
        schema.add_field("code", DataType.BINARY_VECTOR, dim=bits)
        index = spec["index"]
        params = client.prepare_index_params()
        params.add_index(field_name=index["field_name"], index_type=index["index_type"],
                         metric_type=index["metric_type"])
        name = spec["collection_name"]
        client.create_collection(name, schema=schema, index_params=params)
        # pymilvus takes a binary vector as its bytes.
        data = [{"id": r["id"], "path": r["path"], "code": bytes(r["code"])} for r in rows]
        for start in range(0, len(data), 1000):
            client.insert(name, data[start : start + 1000])
        client.load_collection(name)
        by_id = {r["id"]: r for r in data}
        vectors = [by_id[q]["code"] for q in queries]
        # A range search needs a limit: every row, so that nothing within the radius is cut off.
        limit = k if radius is None else min(len(data), 16384)
        search_params = {"metric_type": "HAMMING"}
        hits = client.search(name, data=vectors, anns_field="code", limit=limit,
                             search_params=search_params, output_fields=["id"])
        results = {}
        for q, found in zip(queries, hits):
            pairs = [(int(h["id"]), int(round(h["distance"]))) for h in found]
            if radius is not None:
                pairs = [p for p in pairs if p[1] <= radius]
            results[str(q)] = sorted(pairs, key=lambda p: (p[1], p[0]))
        client.close()
    return bits, len(data), results


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--prefix", required=True)
    ap.add_argument("--engine", choices=["faiss", "milvus"], required=True)
    ap.add_argument("--queries", required=True)
    group = ap.add_mutually_exclusive_group(required=True)
    group.add_argument("--k", type=int)
    group.add_argument("--radius", type=int)
    args = ap.parse_args()
    queries = [int(q) for q in args.queries.split(",")]
    run = faiss_results if args.engine == "faiss" else milvus_results
    try:
        bits, count, results = run(args.prefix, queries, args.k, args.radius)
    except ImportError as e:
        print(f"the {args.engine} Python package is not installed ({e})", file=sys.stderr)
        sys.exit(3)
    print(json.dumps({"engine": args.engine, "bits": bits, "count": count, "results": results}))


if __name__ == "__main__":
    main()
