import torch

from anyner.model.heads import SpanHead


def test_factored_span_head_equals_markerv0_by_definition():
    torch.manual_seed(0)
    head = SpanHead(hidden_size=16, max_width=4, dropout=0.0).eval()
    words, types = torch.randn(2, 7, 16), torch.randn(2, 3, 16)
    got = head(words, types)
    # markerV0 written out: span [i, i+k] -> out(relu(cat(start(x_i), end(x_{i+k})))) · type_proj(t)
    start, end = head.start(words), head.end(words)
    expected = torch.zeros(2, 7, 4, 3)
    for i in range(7):
        for k in range(4):
            j = min(i + k, 6)
            span = head.out(torch.cat([start[:, i], end[:, j]], dim=-1).relu())  # (2, 16)
            expected[:, i, k] = torch.einsum("bd,bcd->bc", span, head.type_proj(types))
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)
