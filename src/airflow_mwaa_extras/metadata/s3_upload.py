"""Stream bytes to one S3 object with multipart upload: memory stays at about one part.

An archive object is never replaced: the writer checks that the key is free before it uploads
(HEAD) and sends the final write with ``If-None-Match: *``, so S3 refuses it if the key was
taken in between (S3 honours the condition since August 2024; some S3 stand-ins, moto 5.0
among them, ignore it, hence the HEAD as well).

The writer hashes what it uploads (SHA-256 of the stored bytes, after gzip) and counts bytes,
so the manifest can name both without reading the object back.

Parts go up from one uploader thread while the caller reads the next part (the upload waits on
the network, which releases the GIL); the next part is handed over once the previous one is
sent, so memory holds about two parts (one being filled, one being sent).
"""

from __future__ import annotations

import hashlib
import queue
import threading
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_mwaa_extras.exceptions import MwaaExtrasError

if TYPE_CHECKING:
    from types import TracebackType

__all__ = [
    "DEFAULT_PART_SIZE",
    "MIN_PART_SIZE",
    "MultipartUploadWriter",
    "S3UploadError",
    "UploadedObject",
    "ensure_absent",
    "if_none_match",
    "put_new_object",
]

MIN_PART_SIZE = 5 * 1024 * 1024  # S3's minimum for every part but the last
# S3's minimum: the writer holds about two parts, and a metadata table never nears 10,000 parts.
DEFAULT_PART_SIZE = MIN_PART_SIZE


class S3UploadError(MwaaExtrasError):
    """An object could not be written to S3."""


@dataclass(frozen=True)
class UploadedObject:
    bucket: str
    key: str
    bytes: int
    sha256: str


class MultipartUploadWriter:
    """A binary file-like sink that uploads to ``s3://bucket/key`` in parts.

    Use as a context manager: a clean exit completes the upload, an exception aborts it, so a
    failed export never leaves a partial object behind.

    :param s3_client: a boto3 S3 client.
    :param bucket: the bucket.
    :param key: the object key.
    :param part_size: bytes per part (at least 5 MiB, S3's minimum).
    :param gzip: compress the stream (gzip format) before upload.
    :param content_type: the object's Content-Type.
    """

    def __init__(
        self,
        s3_client: Any,
        bucket: str,
        key: str,
        *,
        part_size: int = DEFAULT_PART_SIZE,
        gzip: bool = False,
        content_type: str = "text/csv",
    ) -> None:
        if part_size < MIN_PART_SIZE:
            raise S3UploadError(f"part_size must be at least {MIN_PART_SIZE} bytes, got {part_size}")
        self._s3 = s3_client
        self.bucket = bucket
        self.key = key
        self._part_size = part_size
        self._content_type = content_type
        self._compressor = zlib.compressobj(6, zlib.DEFLATED, 31) if gzip else None
        # One growing buffer, not a list of per-row bytes: COPY hands over one small object per
        # row, and keeping thousands of them alive until a part is full fragments the small-object
        # heap so that peak RSS grows with the row count.
        self._pending = bytearray()
        self._parts: list[dict[str, Any]] = []
        self._sha = hashlib.sha256()
        self._size = 0
        self._upload_id: str | None = None
        self.result: UploadedObject | None = None
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=1)
        self._thread: threading.Thread | None = None
        self._error: S3UploadError | None = None
        self._stop = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._multipart = False

    def __enter__(self) -> MultipartUploadWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def write(self, data: bytes | str) -> int:
        if isinstance(data, str):
            data = data.encode("utf-8")
        n = len(data)
        if self._compressor is not None:
            data = self._compressor.compress(data)
            if not data:
                return n
        self._pending += data
        if len(self._pending) >= self._part_size:
            self._flush_part()
        return n

    def _flush_part(self) -> None:
        """Hand the pending bytes to the uploader thread (hashed here, in order)."""
        body = bytes(self._pending)
        del self._pending[:]
        self._sha.update(body)
        self._size += len(body)
        self._multipart = True
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._upload_parts, name=f"s3-upload-{self.key}", daemon=True
            )
            self._thread.start()
        # Hand the part over once the previous one is sent: one part in flight and one being
        # filled, never a third waiting in between (memory, not speed, bounds a queue of one).
        while not self._idle.wait(timeout=0.5):
            self._raise_upload_error()
        self._raise_upload_error()
        self._idle.clear()
        self._queue.put(body)

    def _upload_parts(self) -> None:
        try:
            while (body := self._queue.get()) is not None:
                if not self._stop.is_set():  # aborting: drain without uploading
                    self._upload_part(body)
                del body
                self._idle.set()
        except S3UploadError as err:
            self._error = err
        except Exception as err:  # anything else still reaches the caller as one line
            self._error = S3UploadError(f"uploading s3://{self.bucket}/{self.key} failed: {_reason(err)}")
        if self._error is not None:
            self._stop.set()
            self._idle.set()  # wake the writer, which then raises the error

    def _upload_part(self, body: bytes) -> None:
        if self._upload_id is None:
            ensure_absent(self._s3, self.bucket, self.key)
        try:
            if self._upload_id is None:
                created = self._s3.create_multipart_upload(
                    Bucket=self.bucket, Key=self.key, ContentType=self._content_type
                )
                self._upload_id = created["UploadId"]
            number = len(self._parts) + 1
            part = self._s3.upload_part(
                Bucket=self.bucket, Key=self.key, UploadId=self._upload_id, PartNumber=number, Body=body
            )
        except Exception as err:
            raise S3UploadError(f"uploading s3://{self.bucket}/{self.key} failed: {_reason(err)}") from None
        self._parts.append({"PartNumber": number, "ETag": part["ETag"]})

    def _raise_upload_error(self) -> None:
        if self._error is not None:
            raise self._error

    def _finish_uploads(self) -> None:
        """Wait until every queued part is sent (or the thread has failed)."""
        if self._thread is None:
            return
        while self._thread.is_alive():
            try:
                self._queue.put(None, timeout=0.5)
                break
            except queue.Full:
                continue
        self._thread.join()
        self._thread = None

    def close(self) -> UploadedObject:
        """Upload what is left and complete the upload (a single PUT for a small object)."""
        if self.result is not None:
            return self.result
        if self._compressor is not None:
            self._pending += self._compressor.flush()
        try:
            if not self._multipart:
                body = bytes(self._pending)
                del self._pending[:]
                self._sha.update(body)
                self._size += len(body)
                put_new_object(self._s3, self.bucket, self.key, body, self._content_type)
            else:
                if self._pending:
                    self._flush_part()
                self._finish_uploads()
                self._raise_upload_error()
                self._s3.complete_multipart_upload(
                    Bucket=self.bucket,
                    Key=self.key,
                    UploadId=self._upload_id,
                    MultipartUpload={"Parts": self._parts},
                    **if_none_match(self._s3, "CompleteMultipartUpload"),
                )
        except S3UploadError:
            self.abort()
            raise
        except Exception as err:
            self.abort()
            raise S3UploadError(f"uploading s3://{self.bucket}/{self.key} failed: {_reason(err)}") from None
        self.result = UploadedObject(self.bucket, self.key, self._size, self._sha.hexdigest())
        return self.result

    def abort(self) -> None:
        self._stop.set()
        self._finish_uploads()
        if self._upload_id is not None:
            try:
                self._s3.abort_multipart_upload(Bucket=self.bucket, Key=self.key, UploadId=self._upload_id)
            except Exception:
                pass
            self._upload_id = None


def ensure_absent(s3_client: Any, bucket: str, key: str) -> None:
    """Refuse a key that holds an object already (an archive is never replaced)."""
    try:
        s3_client.head_object(Bucket=bucket, Key=key)
    except Exception as err:
        code = str(getattr(err, "response", {}).get("Error", {}).get("Code", ""))
        if code in ("404", "NoSuchKey", "NotFound"):
            return
        raise S3UploadError(f"checking s3://{bucket}/{key} failed: {_reason(err)}") from None
    raise S3UploadError(_exists(bucket, key))


def if_none_match(s3_client: Any, operation: str) -> dict[str, str]:
    """``IfNoneMatch="*"`` where this botocore knows it (1.35+); older ones (MWAA 2.9.2's) reject
    the parameter, and there the HEAD check before the write is the only guard."""
    members = s3_client.meta.service_model.operation_model(operation).input_shape.members
    return {"IfNoneMatch": "*"} if "IfNoneMatch" in members else {}


def put_new_object(s3_client: Any, bucket: str, key: str, body: bytes, content_type: str) -> None:
    """PUT an object that must not exist yet (HEAD first, then ``If-None-Match: *``)."""
    ensure_absent(s3_client, bucket, key)
    try:
        s3_client.put_object(
            Bucket=bucket,
            Key=key,
            Body=body,
            ContentType=content_type,
            **if_none_match(s3_client, "PutObject"),
        )
    except Exception as err:
        raise S3UploadError(f"uploading s3://{bucket}/{key} failed: {_reason(err)}") from None


def _exists(bucket: str, key: str) -> str:
    return (
        f"s3://{bucket}/{key} exists already: archive objects are never replaced "
        "(does the key template have {attempt}?)"
    )


def _reason(err: Exception) -> str:
    response = getattr(err, "response", None)
    if isinstance(response, dict):
        error = response.get("Error", {})
        if error.get("Code") in ("PreconditionFailed", "412"):
            return "the key exists already: archive objects are never replaced"
        return f"{error.get('Code', 'Error')}: {error.get('Message', '')}".strip()
    return str(err) or type(err).__name__
