"""rosbag2 MCAP bags without rclpy: a writer that keeps what it wrote on disk, message
definitions, and the recovery of bags whose writer never closed them.

Writing (rosbags' MCAP writer): rosbags gathers messages in an in-memory chunk of up to
1 MiB and writes the summary, footer and ``metadata.yaml`` only when closed, so a killed
writer leaves at most its last written chunk and a file no rosbag2 reader opens.
``BagWriter.flush`` therefore closes the pending chunk, hands it to the OS and fsyncs it
(the recorder does so every ``FLUSH_PERIOD_S``): a SIGKILL or power cut loses at most the
messages of that last period.

Recovery: an MCAP file is a sequence of length-prefixed records (mcap.dev/spec). An
unclosed file is read front to back as far as its records are whole, including the whole
messages of a chunk that was cut short (when uncompressed); ``reindex`` then cuts the file
after them, closes it with a DataEnd record and a footer (no summary: readers scan it), and
writes the ``metadata.yaml`` rosbag2 readers need, as ``ros2 bag reindex`` does.
"""
from __future__ import annotations

import os
import struct
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Iterator

import yaml

from ista_ros.core.files import fsync_path
from ista_ros.errors import UserError

FLUSH_PERIOD_S = 0.5
MAGIC = b"\x89MCAP0\r\n"
HEADER, FOOTER, SCHEMA, CHANNEL, MESSAGE, CHUNK, DATA_END = 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x0F
METADATA_FILE = "metadata.yaml"


class BagError(UserError, ValueError):
    """A bag that cannot be written, read or repaired; the message says which and why."""


# ---------------------------------------------------------------------------- definitions
def typestore():
    """A rosbags type store of the ROS 2 standard messages of the distribution running
    (ROS_DISTRO: set by a ROS install's setup.bash and by the project's venv; the newest
    definitions for one rosbags does not know); others are added on demand
    (``add_definition``)."""
    from rosbags.typesys import Stores, get_typestore

    return get_typestore(getattr(Stores, f"ROS2_{os.environ.get('ROS_DISTRO', '').upper()}", Stores.LATEST))


def add_definition(store, type_name: str) -> bool:
    """Register ``type_name`` (e.g. ``ista_ros/msg/SkeletonArray``) and the types it uses
    from the .msg files of their installed packages; False when a definition is missing."""
    from rosbags.typesys import get_types_from_msg

    found, pending = {}, [type_name]
    while pending:
        name = pending.pop()
        if name in store.fielddefs or name in found:
            continue
        path = _msg_file(name)
        if path is None:
            return False
        found.update(get_types_from_msg(path.read_text(), name))
        pending += [used for _, fields in found.values() for _, node in fields for used in _names(node)]
    store.register(found)
    return True


def _msg_file(type_name: str) -> Path | None:
    """The .msg file of a type: under share/<package>/msg of an ament prefix, or for
    ista_ros's own types, in this source tree."""
    package, _, name = type_name.partition("/msg/")
    prefixes = [p for p in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep) if p] + [sys.prefix]
    candidates = [Path(p) / "share" / package / "msg" / f"{name}.msg" for p in prefixes]
    if package == "ista_ros":
        candidates.append(Path(__file__).resolve().parents[1] / "msg" / f"{name}.msg")
    return next((c for c in candidates if c.is_file()), None)


def _names(node) -> list[str]:
    """The message type names a rosbags field type refers to (through arrays/sequences)."""
    kind, detail = node
    if kind.name == "NAME":
        return [detail]
    if kind.name in ("ARRAY", "SEQUENCE"):
        return _names(detail[0])
    return []


# ---------------------------------------------------------------------------- writing
class BagWriter:
    """A new MCAP bag: ``write(topic, type_name, raw_bytes, time_ns, qos)``; ``flush()``
    makes everything written so far survive a kill or a power cut; ``close()``."""

    def __init__(self, path, store=None):
        from rosbags.rosbag2 import StoragePlugin, Writer

        path = Path(path)
        if path.exists():
            raise BagError(f"bag {path} already exists; give a new directory name.")
        self._store = store or typestore()
        self._writer = Writer(path, version=9, storage_plugin=StoragePlugin.MCAP)
        self._writer.open()
        self._storage = self._writer.storage
        if not all(hasattr(self._storage, name) for name in ("close_chunk", "chunk", "bio")):
            self._writer.close()
            raise BagError("this rosbags version cannot flush MCAP chunks; install the rosbags of requirements.txt.")
        self._connections = {}
        self.flush()  # the file's header: even a recording killed at once leaves an MCAP file
        fsync_path(path)
        fsync_path(path.parent)

    def knows(self, type_name: str) -> bool:
        """Whether ``type_name``'s definition is known (or could be added) to be written."""
        return add_definition(self._store, type_name)

    def write(self, topic: str, type_name: str, raw: bytes, time_ns: int, qos=()) -> None:
        if topic not in self._connections:
            if not self.knows(type_name):
                raise BagError(f"no message definition of {type_name} is installed, so {topic} cannot be recorded.")
            self._connections[topic] = self._writer.add_connection(
                topic, type_name, typestore=self._store, offered_qos_profiles=list(qos))
        self._writer.write(self._connections[topic], time_ns, bytes(raw))

    def flush(self) -> None:
        """Close the pending chunk and fsync the file."""
        if self._storage.chunk.bio.tell():
            self._storage.close_chunk()
        self._storage.bio.flush()
        os.fsync(self._storage.bio.fileno())

    def close(self) -> None:
        self._writer.close()


# ---------------------------------------------------------------------------- reading what is whole
@dataclass(frozen=True)
class Channel:
    id: int
    topic: str
    type_name: str
    encoding: str
    metadata: dict


@dataclass
class McapScan:
    """An MCAP file read front to back as far as its records are whole. After iterating
    ``messages()``: the channels seen, whether the file was closed, where its whole
    records end, and the whole records salvaged from a chunk cut short."""

    path: Path
    channels: dict[int, Channel] = field(default_factory=dict)
    started: bool = False  # its header record is whole
    closed: bool = False
    whole_end: int = 0
    salvaged: list[bytes] = field(default_factory=list)
    _schemas: dict[int, str] = field(default_factory=dict)

    def messages(self) -> Iterator[tuple[Channel, int, bytes]]:
        """(channel, log time ns, serialized message) in file order."""
        with open(self.path, "rb") as f:
            start = f.read(len(MAGIC))
            if start != MAGIC:
                if MAGIC.startswith(start):
                    return  # cut off before its first record: nothing to read
                raise BagError(f"{self.path} is not an MCAP file.")
            size = os.fstat(f.fileno()).st_size
            for opcode, body, whole in _records(f, size):
                if opcode == CHUNK and not whole:
                    yield from self._chunk(body, salvage=True)
                    break
                if not whole:
                    break
                self.whole_end = f.tell()
                self.started = self.started or opcode == HEADER
                if opcode in (DATA_END, FOOTER):
                    self.closed = True
                    break
                yield from self._chunk(body) if opcode == CHUNK else self._record(opcode, body)

    def _record(self, opcode: int, body: bytes) -> Iterator[tuple[Channel, int, bytes]]:
        if opcode == SCHEMA:
            (schema_id,) = struct.unpack_from("<H", body)
            self._schemas[schema_id] = _strings(body, 2, 1)[0]
        elif opcode == CHANNEL:
            channel_id, schema_id = struct.unpack_from("<HH", body)
            topic, encoding = _strings(body, 4, 2)
            self.channels[channel_id] = Channel(channel_id, topic, self._schemas.get(schema_id, ""), encoding,
                                                _string_map(body, 4 + 8 + len(topic.encode()) + len(encoding.encode())))
        elif opcode == MESSAGE:
            channel_id, _, log_time = struct.unpack_from("<HIQ", body)
            if channel_id in self.channels:
                yield self.channels[channel_id], log_time, body[22:]

    def _chunk(self, body: bytes, salvage: bool = False) -> Iterator[tuple[Channel, int, bytes]]:
        """The records of a chunk; of a chunk cut short, those that are whole (uncompressed only)."""
        if len(body) < 40:
            return
        (uncompressed_size,) = struct.unpack_from("<Q", body, 16)
        (compression,) = _strings(body, 28, 1)
        start = 28 + 4 + len(compression.encode()) + 8
        records = body[start:]
        if salvage and compression:
            return  # a cut compressed chunk cannot be decompressed
        if not salvage:
            records = _decompress(records, compression, uncompressed_size, self.path)
        inner = memoryview(records)
        offset = 0
        while offset + 9 <= len(inner):
            opcode, length = struct.unpack_from("<BQ", inner, offset)
            if offset + 9 + length > len(inner) or opcode == 0:
                break
            body = bytes(inner[offset + 9:offset + 9 + length])
            if salvage:
                self.salvaged.append(bytes(inner[offset:offset + 9 + length]))
            yield from self._record(opcode, body)
            offset += 9 + length


def _records(f: BinaryIO, size: int) -> Iterator[tuple[int, bytes, bool]]:
    """(opcode, body, whole) of each record from the file position on; the last one may
    be cut short (whole False); opcode 0 (zeros: space the file system allocated but the
    writer never filled) ends the data."""
    while True:
        head = f.read(9)
        if len(head) < 9:
            return
        opcode, length = struct.unpack("<BQ", head)
        if opcode == 0:
            return
        body = f.read(min(length, size - f.tell()))
        whole = len(body) == length
        yield opcode, body, whole
        if not whole:
            return


def _strings(body: bytes, offset: int, count: int) -> list[str]:
    out = []
    for _ in range(count):
        (length,) = struct.unpack_from("<I", body, offset)
        out.append(body[offset + 4:offset + 4 + length].decode())
        offset += 4 + length
    return out


def _string_map(body: bytes, offset: int) -> dict:
    (length,) = struct.unpack_from("<I", body, offset)
    end, offset, out = offset + 4 + length, offset + 4, {}
    while offset < end:
        key, value = _strings(body, offset, 2)
        out[key] = value
        offset += 8 + len(key.encode()) + len(value.encode())
    return out


def _decompress(data: bytes, compression: str, size: int, path: Path) -> bytes:
    if compression == "":
        return data
    if compression == "zstd":
        try:
            from compression import zstd  # Python 3.14
        except ImportError:
            from backports import zstd
        return zstd.decompress(data)
    if compression == "lz4":
        import lz4.frame

        return lz4.frame.decompress(data)
    raise BagError(f"{path} has chunks compressed with {compression!r}, which this reader cannot read.")


# ---------------------------------------------------------------------------- reindex
def mcap_files(bag: Path) -> list[Path]:
    """The MCAP files of a bag directory, in recording order."""
    files = sorted(bag.glob("*.mcap"), key=lambda p: (len(p.name), p.name))
    if not bag.is_dir() or not files:
        raise BagError(f"{bag} is not a bag directory with MCAP files.")
    return files


@dataclass
class Reindexed:
    counts: dict[str, int]  # topic -> messages
    repaired: list[str]     # files that were not closed
    salvaged: int           # messages saved from chunks cut short


def reindex(bag) -> Reindexed:
    """Close the bag's unclosed MCAP files after their last whole message and write its
    metadata.yaml afresh from what the files hold."""
    bag = Path(bag)
    if not bag.exists():
        raise BagError(f"bag {bag} does not exist.")
    files = mcap_files(bag)
    topics: dict[str, dict] = {}
    summary, stats = Reindexed({}, [], 0), []
    for path in files:
        scan = McapScan(path)
        count, first, last = 0, 2**63 - 1, 0
        for channel, time_ns, _ in scan.messages():
            if channel.topic not in topics:
                topics[channel.topic] = {"topic_metadata": _topic_metadata(channel), "message_count": 0}
            topics[channel.topic]["message_count"] += 1
            count, first, last = count + 1, min(first, time_ns), max(last, time_ns)
        salvaged_messages = sum(1 for r in scan.salvaged if r[0] == MESSAGE)
        if not scan.closed:
            _close(path, scan)
            summary.repaired.append(path.name)
            summary.salvaged += salvaged_messages
        stats.append((path.name, count, first if count else 0, last))
    metadata = _metadata(topics, stats)
    tmp = bag / f".{METADATA_FILE}.tmp"
    tmp.write_text(yaml.safe_dump(metadata, sort_keys=False))
    os.replace(tmp, bag / METADATA_FILE)
    summary.counts = {topic: entry["message_count"] for topic, entry in topics.items()}
    return summary


def _topic_metadata(channel: Channel) -> dict:
    return {"name": channel.topic, "type": channel.type_name, "serialization_format": channel.encoding,
            "offered_qos_profiles": yaml.safe_load(channel.metadata.get("offered_qos_profiles", "") or "[]") or [],
            "type_description_hash": _type_hash(channel.type_name)}


def _type_hash(type_name: str) -> str:
    """The RIHS01 hash of a type whose definition is installed, else empty (unknown)."""
    try:
        store = typestore()
        return store.hash_rihs01(type_name) if add_definition(store, type_name) else ""
    except Exception:  # noqa: BLE001 - a definition rosbags cannot hash: leave the hash out
        return ""


def _close(path: Path, scan: McapScan) -> None:
    """Cut an unclosed MCAP file after its whole records, append the records salvaged from
    a chunk cut short, and close it (DataEnd, footer without summary, magic)."""
    data_end = struct.pack("<BQI", DATA_END, 4, 0)
    footer = struct.pack("<BQQQI", FOOTER, 20, 0, 0, 0)
    start = b"" if scan.started else MAGIC + _header_record()
    with open(path, "r+b") as f:
        f.truncate(scan.whole_end if scan.started else 0)
        f.seek(0, 2)
        f.write(start + b"".join(scan.salvaged) + data_end + footer + MAGIC)
        f.flush()
        os.fsync(f.fileno())


def _header_record() -> bytes:
    """The Header record of a rosbag2 MCAP file (profile ros2)."""
    body = b"".join(struct.pack("<I", len(text)) + text for text in (b"ros2", b"ista_ros reindex"))
    return struct.pack("<BQ", HEADER, len(body)) + body


def _metadata(topics: dict[str, dict], stats: list[tuple[str, int, int, int]]) -> dict:
    counted = [s for s in stats if s[1]]
    start = min((s[2] for s in counted), default=0)
    end = max((s[3] for s in counted), default=0)
    return {"rosbag2_bagfile_information": {
        "version": 9,
        "storage_identifier": "mcap",
        "relative_file_paths": [name for name, *_ in stats],
        "duration": {"nanoseconds": end - start},
        "starting_time": {"nanoseconds_since_epoch": start},
        "message_count": sum(s[1] for s in stats),
        "topics_with_message_count": list(topics.values()),
        "compression_format": "",
        "compression_mode": "",
        "files": [{"path": name, "starting_time": {"nanoseconds_since_epoch": first},
                   "duration": {"nanoseconds": last - first}, "message_count": count}
                  for name, count, first, last in stats],
        "custom_data": None,
        "ros_distro": os.environ.get("ROS_DISTRO", ""),
    }}
