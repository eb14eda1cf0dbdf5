"""`launcher logs` lines: whole lines, each prefixed with its pod, however the stream cuts them."""

from launcher.pod_logs import prefixed


def test_lines_split_across_chunks_are_joined_and_prefixed() -> None:
    check = "\u2713".encode()  # three bytes, cut between two chunks
    chunks = [b"epoch 1/3 st", b"ep 10\nepoch 1/3 step 20\nloss 0.5 " + check[:1], check[1:] + b"\n"]
    assert list(prefixed("r-x7k2p", chunks)) == [
        "[r-x7k2p] epoch 1/3 step 10\n",
        "[r-x7k2p] epoch 1/3 step 20\n",
        "[r-x7k2p] loss 0.5 \u2713\n",
    ]


def test_a_last_line_without_newline_gets_one_and_an_empty_log_gives_nothing() -> None:
    assert list(prefixed("p", [b"a\nb"])) == ["[p] a\n", "[p] b\n"]
    assert list(prefixed("p", [])) == []
