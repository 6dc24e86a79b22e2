package central

import "testing"

func TestTopicMatch(t *testing.T) {
	for _, c := range []struct {
		filter, topic string
		want          bool
	}{
		{"udi/v1/st-marys/+/movements", "udi/v1/st-marys/or-3/movements", true},
		{"udi/v1/st-marys/+/movements", "udi/v1/st-marys/or-3/status", false},
		{"udi/v1/st-marys/+/movements", "udi/v1/other/or-3/movements", false},
		{"udi/v1/st-marys/+/movements", "udi/v1/st-marys/or-3/movements/x", false},
		{"udi/v1/st-marys/+/movements", "udi/v1/st-marys/movements", false},
		{"udi/v1/st-marys/master/#", "udi/v1/st-marys/master/recalls", true},
		{"udi/v1/st-marys/master/#", "udi/v1/st-marys/master", true},
		{"#", "udi/v1/x", true},
		{"a/b", "a/b", true},
		{"a/b", "a/c", false},
	} {
		if got := topicMatch(c.filter, c.topic); got != c.want {
			t.Errorf("topicMatch(%q, %q) = %v, want %v", c.filter, c.topic, got, c.want)
		}
	}
}
