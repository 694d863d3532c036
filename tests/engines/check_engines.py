"""Load a `hashlens export` into the real engine and answer queries, for the export test
(app/tests/cli/engines.rs), which compares the answers with `hashlens search`.

    check_engines.py --prefix PREFIX --engine faiss|milvus --queries 0,5,7 [--k 10] [--radius R]

Queries are photos of the export, by id; their codes are read back from the export itself. With
--radius, every photo at distance <= R (k is then ignored); otherwise the k nearest. Prints one JSON
line: {"engine", "bits", "count", "results": {"ID": [[id, distance], ...]}}, each list ordered by
(distance, id). Exits with 3 and a one-line reason on stderr when the engine's Python packages are
missing or unusable (the test then skips that engine). Needs faiss-cpu, or pymilvus with milvus-lite 2.x
(milvus-lite 3 has no BINARY_VECTOR).
"""

import argparse
import json
import os
import sys
import tempfile
import warnings
from importlib import metadata

# Milvus refuses a search whose limit (topk) is above this.
MILVUS_MAX_LIMIT = 16384


def unavailable(reason):
    print(reason, file=sys.stderr)
    sys.exit(3)


def ordered(pairs):
    return sorted(((int(i), int(round(d))) for i, d in pairs), key=lambda p: (p[1], p[0]))


def faiss_results(prefix, queries, k, radius):
    try:
        import faiss
    except ImportError as e:
        unavailable(f"faiss is not installed (pip install faiss-cpu): {e}")
    index = faiss.read_index_binary(prefix + ".faiss")
    if max(queries) >= index.ntotal:
        sys.exit(f"query id {max(queries)} is not in the index ({index.ntotal} codes)")
    x = index.reconstruct_n(0, index.ntotal)[queries]  # uint8, (queries, code_size)
    if radius is None:
        dist, ids = index.search(x, k)  # padded with id -1 when k > ntotal
        found = [[(i, d) for i, d in zip(ids[r], dist[r]) if i >= 0] for r in range(len(queries))]
    else:
        # IndexBinary::range_search keeps distances strictly below its radius (IndexBinary.h).
        lims, dist, ids = index.range_search(x, radius + 1)
        found = [zip(ids[lims[r] : lims[r + 1]], dist[lims[r] : lims[r + 1]]) for r in range(len(queries))]
    return index.d, index.ntotal, {str(q): ordered(f) for q, f in zip(queries, found)}


def read_schema(spec):
    """(collection name, fields as {name, type, is_primary, dim?, max_length?}, index) of the schema file
    `hashlens export --format milvus` writes."""
    return spec["collection_name"], spec["fields"], spec["index"]


def milvus_results(prefix, queries, k, radius):
    try:
        lite = metadata.version("milvus-lite")
        warnings.filterwarnings("ignore", message="pkg_resources is deprecated")
        import milvus_lite.server_manager  # noqa: F401 (MilvusClient needs it for a local file)
        from pymilvus import DataType, MilvusClient
    except (ImportError, metadata.PackageNotFoundError) as e:
        unavailable(f"pymilvus with milvus-lite is not installed (pip install pymilvus 'milvus-lite<3' "
                    f"'setuptools<81'): {e}")
    if int(lite.split(".")[0]) >= 3:
        unavailable(f"milvus-lite {lite} has no BINARY_VECTOR; install milvus-lite<3 (2.5.1)")

    with open(prefix + ".milvus.schema.json") as f:
        name, fields, index = read_schema(json.load(f))
    with open(prefix + ".milvus.json") as f:
        rows = json.load(f)
    # {"rows": [...]} or a bare list of rows: Milvus's bulk insert reads both.
    rows = rows["rows"] if isinstance(rows, dict) else rows

    # "INT64", "Int64", "BINARY_VECTOR", "BinaryVector", ... → DataType.
    types = {t.name.replace("_", ""): t for t in DataType}
    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    for fd in fields:
        kind = types[fd["type"].replace("_", "").upper()]
        extra = {key: int(fd[key]) for key in ("dim", "max_length") if key in fd}
        schema.add_field(fd["name"], kind, is_primary=bool(fd.get("is_primary")), **extra)
    key = next(fd["name"] for fd in fields if fd.get("is_primary"))
    vec = index["field_name"]
    bits = int(next(fd["dim"] for fd in fields if fd["name"] == vec))

    # pymilvus wants a binary vector as bytes, bits / 8 of them, and does not check the length: a
    # wrong-sized one shifts every later row of the batch. So check here.
    data = []
    for r in rows:
        if len(r[vec]) * 8 != bits:
            sys.exit(f"row {r[key]}: {len(r[vec])} bytes for a {bits}-bit vector")
        data.append({**r, vec: bytes(r[vec])})
    by_key = {r[key]: r[vec] for r in data}
    vectors = [by_key[q] for q in queries]

    metric = index["metric_type"]
    if radius is None:
        limit, params = k, {}
    else:
        # Milvus's range search for HAMMING keeps range_filter <= distance < radius (docs:
        # range-search.md); it still returns at most `limit` rows, and limit can't pass 16384.
        limit, params = min(len(data), MILVUS_MAX_LIMIT), {"radius": radius + 1, "range_filter": 0}
    if limit > MILVUS_MAX_LIMIT:
        sys.exit(f"Milvus searches at most {MILVUS_MAX_LIMIT} neighbours, not {limit}")

    with tempfile.TemporaryDirectory() as tmp:
        # The embedded server logs through glog, by default into new files in /tmp on every run.
        os.environ["GLOG_log_dir"] = tmp
        db = tmp + "/milvus.db"
        client = MilvusClient(db)
        try:
            ip = client.prepare_index_params()
            ip.add_index(field_name=vec, index_type=index["index_type"], metric_type=metric,
                         params=index.get("params", {}))
            client.create_collection(name, schema=schema, index_params=ip)
            for start in range(0, len(data), 2000):
                client.insert(name, data[start : start + 2000])
            client.load_collection(name)
            hits = client.search(name, data=vectors, anns_field=vec, limit=limit, output_fields=[key],
                                 search_params={"metric_type": metric, "params": params})
        finally:
            client.close()
            milvus_lite.server_manager.server_manager_instance.release_server(db)

    results = {}
    for q, found in zip(queries, hits):
        if radius is not None and len(found) == limit < len(data):
            sys.exit(f"query {q}: {limit} or more photos within {radius}, Milvus's most for one search")
        results[str(q)] = ordered((h["id"], h["distance"]) for h in found)
    return bits, len(data), results


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--prefix", required=True, help="the export's PREFIX")
    ap.add_argument("--engine", choices=["faiss", "milvus"], required=True)
    ap.add_argument("--queries", required=True, help="photo ids, comma-separated")
    ap.add_argument("--k", type=int, default=10, help="nearest neighbours (default 10)")
    ap.add_argument("--radius", type=int, help="every photo at distance <= R instead")
    args = ap.parse_args()
    queries = [int(q) for q in args.queries.split(",")]
    run = faiss_results if args.engine == "faiss" else milvus_results
    bits, count, results = run(args.prefix, queries, args.k, args.radius)
    print(json.dumps({"engine": args.engine, "bits": bits, "count": count, "results": results}))


if __name__ == "__main__":
    main()
