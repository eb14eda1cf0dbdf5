"""The reader of the docs' conventions: commands, continuations, stated exit codes, markers, anchors."""

from pathlib import Path

from support.markdown_docs import anchors, blocks, slug

PAGE = """# A page

<!-- not run here: needs a cluster -->
```console
$ kubectl apply -f x.yaml
```

<!-- file: team.yaml -->
```yaml
namespace: ml-team
```

```console
$ trainer train --model m \\
    --output s3://b/run    # a comment
2026 INFO published
$ trainer train --model m
trainer: error: no --train-data
$ echo $?
2
```

## Set-up: the `k8s/` folder
## Set-up: the `k8s/` folder
"""


def test_blocks_carry_their_markers(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(PAGE)
    found = blocks(page)
    assert [(b.info, b.not_run, b.file_name) for b in found] == [
        ("console", "needs a cluster", None),
        ("yaml", None, "team.yaml"),
        ("console", None, None),
    ]
    assert found[1].lines == ["namespace: ml-team"]


def test_commands_join_continuations_and_take_the_stated_exit_code(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(PAGE)
    first, second = blocks(page)[2].commands()
    assert first.text == "trainer train --model m \\\n    --output s3://b/run    # a comment"
    assert (first.line, first.exit_code, first.shown_output) == (14, 0, ["2026 INFO published"])
    assert (second.program, second.exit_code) == ("trainer", 2)
    assert second.shown_output == ["trainer: error: no --train-data"]


def test_anchors_follow_github(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(PAGE)
    assert slug("Choosing nodes x GPUs") == "choosing-nodes-x-gpus"
    assert (
        slug("Other verbs as Jobs: evaluate, predict, export")
        == "other-verbs-as-jobs-evaluate-predict-export"
    )
    assert anchors(page) == {"a-page", "set-up-the-k8s-folder", "set-up-the-k8s-folder-1"}
