"""`make demo`: the main job end to end, offline, on CPU, against a real S3-compatible server on loopback.

1. start SeaweedFS (a production object store) on 127.0.0.1 and create two buckets;
2. stage the demo data set (demo/data, customer-support messages in three topics) and the pretrained
   all-MiniLM-L6-v2 into them, the way an air-gapped cluster keeps its base models in a bucket;
3. run `trainer train` exactly as a pod would, with the AWS_* variables pointing at the server, mirrored over
   2 logical CPU devices;
4. print the metrics and the published artifacts, then load the model back from the bucket with nothing but
   transformers and classify two new messages;
5. stop the server, whatever happened.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.support.s3servers import S3Endpoint, seaweed_server  # noqa: E402

DATA_BUCKET = "team-data"
MODEL_BUCKET = "team-models"
BASE_MODEL = f"s3://{MODEL_BUCKET}/base/all-MiniLM-L6-v2"
OUTPUT = f"s3://{MODEL_BUCKET}/support/demo-run"
SAMPLES = (
    "My order was supposed to arrive on Monday and there is still no sign of the courier.",
    "The app logs me out every few minutes and I cannot save my work.",
)


def stage(endpoint: S3Endpoint, data_dir: Path, model_dir: Path) -> None:
    client = endpoint.client()
    for bucket in (DATA_BUCKET, MODEL_BUCKET):
        client.create_bucket(Bucket=bucket)
    for name in ("train.csv", "dev.csv"):
        client.upload_file(str(data_dir / name), DATA_BUCKET, f"support/{name}")
    for path in sorted(model_dir.iterdir()):
        client.upload_file(str(path), MODEL_BUCKET, f"base/all-MiniLM-L6-v2/{path.name}")
    print(f"staged s3://{DATA_BUCKET}/support/{{train,dev}}.csv and {BASE_MODEL}/", flush=True)


def train(endpoint: S3Endpoint, work_dir: Path) -> None:
    command = [
        sys.executable, "-m", "trainer", "train",
        "--model", BASE_MODEL,
        "--train-data", f"s3://{DATA_BUCKET}/support/train.csv",
        "--eval-data", f"s3://{DATA_BUCKET}/support/dev.csv",
        "--text-column", "message",
        "--label-column", "topic",
        "--output", OUTPUT,
        "--epochs", "3",
        "--learning-rate", "1e-4",
        "--per-replica-batch-size", "16",
        "--cpu-replicas", "2",
        "--log-every-steps", "5",
        "--progress", "lines",
        "--work-dir", str(work_dir),
    ]  # fmt: skip
    print("$ trainer train " + " ".join(command[4:]), flush=True)
    env = {**os.environ, **endpoint.env(), "HF_HUB_OFFLINE": "1"}
    result = subprocess.run(command, env=env, check=False)
    if result.returncode != 0:
        raise SystemExit(f"demo: trainer train failed with exit code {result.returncode}")


def report(endpoint: S3Endpoint, download_dir: Path) -> None:
    client = endpoint.client()
    prefix = OUTPUT.removeprefix(f"s3://{MODEL_BUCKET}/")
    listing = client.list_objects_v2(Bucket=MODEL_BUCKET, Prefix=prefix + "/")["Contents"]
    print(f"\nartifacts under {OUTPUT}/:")
    for item in listing:
        print(f"  {item['Key'].removeprefix(prefix + '/'):<32} {item['Size']:>12,d} bytes")
    metrics = json.loads(client.get_object(Bucket=MODEL_BUCKET, Key=f"{prefix}/metrics.json")["Body"].read())
    evaluation = metrics["eval"]
    print(
        f"\neval on held-out phrasings: accuracy {evaluation['accuracy']:.3f}, macro F1 {evaluation['macro_f1']:.3f}, "
        f"loss {evaluation['loss']:.4f}; training {metrics['throughput']['train_examples_per_second']:.1f} examples/s"
    )
    for item in listing:
        key = item["Key"]
        if key.startswith(f"{prefix}/model/"):
            target = download_dir / key.removeprefix(f"{prefix}/model/")
            client.download_file(MODEL_BUCKET, key, str(target))

    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    import tensorflow as tf
    from transformers import AutoTokenizer, TFAutoModelForSequenceClassification

    tokenizer = AutoTokenizer.from_pretrained(download_dir)
    model = TFAutoModelForSequenceClassification.from_pretrained(download_dir)
    logits = model(tokenizer(list(SAMPLES), padding=True, return_tensors="tf")).logits
    probabilities = tf.nn.softmax(logits, axis=-1).numpy()
    print("\nthe published model, loaded back with transformers alone:")
    for text, probs in zip(SAMPLES, probabilities, strict=True):
        best = int(probs.argmax())
        print(f"  {model.config.id2label[best]:<10} p={probs[best]:.2f}  {text}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, required=True, help="all-MiniLM-L6-v2 folder")
    parser.add_argument("--data-dir", type=Path, default=REPO / "demo" / "data")
    args = parser.parse_args()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="demo-") as tmp, seaweed_server() as endpoint:
        print(f"SeaweedFS S3 gateway on {endpoint.url}", flush=True)
        stage(endpoint, args.data_dir, args.model_dir)
        train(endpoint, Path(tmp) / "work")
        download_dir = Path(tmp) / "model"
        download_dir.mkdir()
        report(endpoint, download_dir)
    print(f"\ndemo finished in {time.monotonic() - started:.0f}s; the S3 server is stopped.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
