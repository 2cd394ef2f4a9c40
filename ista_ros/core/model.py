"""ISTA-Net: Interactive Spatiotemporal Token Attention Network (IROS 2023).

Computes the same function as the official implementation, with the same parameter
names, so official state dicts load unchanged. Tensor layout: (N, C, T, J, E).

Tokenisation (the "IST" block): the input is padded by replication until T, J and E
divide the window (Tw, Jw, Ew), then split *strided*: along time, token u holds the Tw
frames {u, u + T/Tw, u + 2T/Tw, ...}, not Tw consecutive frames. Inside the network a
feature map is (N, C, Tw, Jw*Ew, U) with U the number of tokens.
"""
from __future__ import annotations

import math
from dataclasses import MISSING, asdict, dataclass, field, fields

import torch
import torch.nn.functional as F
from torch import nn

LEAKY_SLOPE = 0.1


@dataclass
class ModelConfig:
    """ISTA-Net hyper-parameters; field names are the official ``model_args`` keys."""

    num_classes: int
    num_joints: int
    num_frames: int
    num_persons: int  # E, the number of entities (persons, hands, objects)
    window_size: tuple[int, int, int] = (20, 1, 2)  # (Tw, Jw, Ew)
    num_heads: int = 3
    num_channels: int = 3
    kernel_size: tuple[int, int] = (3, 5)  # (temporal k_t, token k_u)
    config: list[list[int]] = field(default_factory=list)  # blocks: [in, out, qkv_dim]
    use_pes: bool = True
    att_drop: float = 0.0
    dropout: float = 0.0

    def __post_init__(self):
        for name in ("num_classes", "num_joints", "num_frames", "num_persons", "num_heads", "num_channels"):
            _positive_int(getattr(self, name), name)
        self.window_size = tuple(_positive_int(v, "window_size") for v in _sequence(self.window_size, "window_size"))
        self.kernel_size = tuple(_positive_int(v, "kernel_size") for v in _sequence(self.kernel_size, "kernel_size"))
        self.config = [[_positive_int(v, "config") for v in _sequence(block, "config")]
                       for block in _sequence(self.config, "config")]
        if not isinstance(self.use_pes, bool):
            raise ValueError(f"use_pes must be true or false, not {self.use_pes!r}.")
        for name in ("att_drop", "dropout"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
                raise ValueError(f"{name} must be a probability in [0, 1), not {value!r}.")
        if len(self.window_size) != 3 or len(self.kernel_size) != 2:
            raise ValueError("window_size needs 3 values (Tw, Jw, Ew) and kernel_size 2 (k_t, k_u).")
        if not self.config or any(len(block) != 3 for block in self.config):
            raise ValueError("config needs at least one block, each [in_channels, out_channels, qkv_dim].")
        if any(v < 1 for v in (*self.window_size, self.num_frames, self.num_joints, self.num_persons)):
            raise ValueError("window sizes and the numbers of frames, joints and entities must be positive.")

    @classmethod
    def from_dict(cls, values: dict) -> ModelConfig:
        if not isinstance(values, dict):
            raise ValueError(f"a model configuration is a mapping of settings, not {type(values).__name__}.")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown model configuration keys: {', '.join(unknown)}.")
        required = [f.name for f in fields(cls) if f.default is MISSING and f.default_factory is MISSING]
        missing = [name for name in required if name not in values]
        if missing:
            raise ValueError(f"the model configuration has no {', '.join(missing)}.")
        return cls(**values)

    def to_dict(self) -> dict:
        values = asdict(self)
        values["window_size"] = list(self.window_size)
        values["kernel_size"] = list(self.kernel_size)
        return values

    @property
    def grid(self) -> tuple[int, int, int]:
        """Tokens along (time, joints, entities) after padding."""
        (tw, jw, ew) = self.window_size
        return (math.ceil(self.num_frames / tw), math.ceil(self.num_joints / jw), math.ceil(self.num_persons / ew))

    @property
    def num_tokens(self) -> int:
        return math.prod(self.grid)

    @property
    def input_shape(self) -> tuple[int, int, int, int]:
        """(C, T, J, E) of one sample: what the model takes, less the batch dimension."""
        return (self.num_channels, self.num_frames, self.num_joints, self.num_persons)


def _positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must hold positive integers, not {value!r}.")
    return value


def _sequence(value, name: str) -> list | tuple:
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"{name} must be a list, not {value!r}.")
    return value


def tokenize(x: torch.Tensor, window_size: tuple[int, int, int]) -> torch.Tensor:
    """(N, C, T, J, E) -> (N, C, Tw, Jw*Ew, U) interactive spatiotemporal tokens."""
    tw, jw, ew = window_size
    _, _, t, j, e = x.shape
    # F.pad lists the last dimension first: (E, J, T), padding at the end only.
    pads = (0, -e % ew, 0, -j % jw, 0, -t % tw)
    if any(pads):
        x = F.pad(x, pads, mode="replicate")
    n, c, t, j, e = x.shape
    x = x.reshape(n, c, tw, t // tw, jw, j // jw, ew, e // ew)
    x = x.permute(0, 1, 2, 4, 6, 3, 5, 7)
    return x.reshape(n, c, tw, jw * ew, -1)


def sinusoidal_table(num_positions: int, channels: int) -> torch.Tensor:
    """(num_positions, channels) sine/cosine encoding, even channels sine, odd cosine."""
    position = torch.arange(num_positions, dtype=torch.float32).unsqueeze(1)
    inv_freq = torch.exp(torch.arange(0, channels, 2).float() * -(math.log(10000.0) / channels))
    table = torch.zeros(num_positions, channels)
    table[:, 0::2] = torch.sin(position * inv_freq)
    table[:, 1::2] = torch.cos(position * inv_freq)
    return table


class PositionalEncoding(nn.Module):
    """Encodes the token index only; every position inside a window shares it."""

    def __init__(self, channels: int, window_size: tuple[int, int, int], num_tokens: int):
        super().__init__()
        tw, jw, ew = window_size
        table = sinusoidal_table(num_tokens, channels).t()  # (C, U)
        pe = table[None, :, None, None, :].expand(1, channels, tw, jw * ew, num_tokens)
        self.register_buffer("pe", pe.contiguous())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pe


def conv_bn(in_channels: int, out_channels: int, kernel=1, padding=0) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv3d(in_channels, out_channels, kernel, padding=padding), nn.BatchNorm3d(out_channels)
    )


class TSABlock(nn.Module):
    """Token self-attention block: attention across tokens with a learned bias M, a
    (1, 1, k_u) projection over tokens, a pointwise FFN and a (k_t, 1, 1) temporal
    convolution, each with a residual path and LeakyReLU(0.1)."""

    def __init__(self, in_channels, out_channels, qkv_dim, window_size, num_tokens, num_heads,
                 kernel_size, use_pes=True, att_drop=0.0):
        super().__init__()
        self.num_heads = num_heads
        self.qkv_dim = qkv_dim
        k_t, k_u = kernel_size
        if use_pes:
            self.pes = PositionalEncoding(in_channels, window_size, num_tokens)
        self.use_pes = use_pes
        self.to_qkvs = nn.Conv3d(in_channels, 2 * num_heads * qkv_dim, 1)
        self.alpha = nn.Parameter(torch.ones(1, num_heads, 1, 1))
        self.M = nn.Parameter(torch.full((1, num_heads, num_tokens, num_tokens), 1.0 / num_tokens))
        self.proj = conv_bn(in_channels * num_heads, out_channels, (1, 1, k_u), (0, 0, (k_u - 1) // 2))
        self.FFN = conv_bn(out_channels, out_channels)
        self.TA = conv_bn(out_channels, out_channels, (k_t, 1, 1), ((k_t - 1) // 2, 0, 0))
        if in_channels != out_channels:
            self.residual = conv_bn(in_channels, out_channels)
            self.residual_TA = conv_bn(out_channels, out_channels)
        else:
            self.residual = self.residual_TA = nn.Identity()
        self.drop = nn.Dropout(att_drop)

    def attention(self, x: torch.Tensor) -> torch.Tensor:
        """(N, H, U, U) token affinities: tanh of scaled q.k, times alpha, plus bias M."""
        n, _, t, je, u = x.shape
        xa = x + self.pes(x) if self.use_pes else x
        qk = self.to_qkvs(xa).reshape(n, 2, self.num_heads, self.qkv_dim * t * je, u)
        q, k = qk[:, 0], qk[:, 1]
        scores = q.transpose(-1, -2) @ k / (self.qkv_dim * t * je)
        return self.drop(torch.tanh(scores) * self.alpha + self.M)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, t, je, u = x.shape
        atten = self.attention(x)
        # Every head mixes the (position-encoding-free) input tokens.
        mixed = x.reshape(n, 1, c * t * je, u) @ atten
        mixed = mixed.reshape(n, self.num_heads * c, t, je, u)
        xres = self.residual(x)
        y = F.leaky_relu(self.proj(mixed) + xres, LEAKY_SLOPE)
        y = F.leaky_relu(self.FFN(y) + xres, LEAKY_SLOPE)
        return F.leaky_relu(self.TA(y) + self.residual_TA(y), LEAKY_SLOPE)


class ISTANet(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        first_channels = cfg.config[0][0]
        self.embed = nn.Sequential(
            nn.Conv3d(cfg.num_channels, first_channels, 1),
            nn.BatchNorm3d(first_channels),
            nn.LeakyReLU(LEAKY_SLOPE),
        )
        self.blocks = nn.ModuleList(
            TSABlock(c_in, c_out, qkv, cfg.window_size, cfg.num_tokens, cfg.num_heads,
                     cfg.kernel_size, cfg.use_pes, cfg.att_drop)
            for c_in, c_out, qkv in cfg.config
        )
        self.drop_out = nn.Dropout(cfg.dropout)
        self.fc = nn.Linear(cfg.config[-1][1], cfg.num_classes)
        nn.init.xavier_normal_(self.fc.weight)
        nn.init.zeros_(self.fc.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.embed(tokenize(x, self.cfg.window_size))
        for block in self.blocks:
            x = block(x)
        pooled = x.flatten(2).mean(-1)
        return self.fc(self.drop_out(pooled))
