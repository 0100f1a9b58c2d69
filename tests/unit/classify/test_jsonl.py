"""JSON Lines input for classify-file, eval and the training data: errors name the file and line."""
import pytest

from bot.classify.batch import InputError, read_messages
from bot.classify.dataset import DatasetError, read_examples


@pytest.mark.parametrize("line, message", [("[1, 2]", "not a JSON object"), ("{oops", "not JSON"),
                                           ('{"subject": "x"}', "not a JSON object with an id")])
def test_classify_input_names_the_bad_line(tmp_path, line, message):
    path = tmp_path / "in.jsonl"
    path.write_text('{"id": "a", "subject": "", "body": "hi"}\n\n' + line + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=f"in.jsonl:3: {message}"):
        list(read_messages(path))


def test_training_data_names_the_bad_line_and_skips_blank_ones(tmp_path):
    path = tmp_path / "train.jsonl"
    path.write_text("\n\n\"just a string\"\n", encoding="utf-8")
    with pytest.raises(DatasetError, match="train.jsonl:3: not a JSON object"):
        read_examples(path)
