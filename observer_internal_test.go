package stargate

import "testing"

func TestHandleInfo(t *testing.T) {
	tp, _ := ParseTopic("persistent://t/ns/a b+c")
	for _, c := range []struct {
		path string
		want HandleInfo
	}{
		{"/ws/v2/producer/" + tp.path(), HandleInfo{Kind: "producer", Topic: "persistent://t/ns/a b+c"}},
		{"/ws/v2/reader/" + tp.path(), HandleInfo{Kind: "reader", Topic: "persistent://t/ns/a b+c"}},
		{"/ws/v2/consumer/" + tp.path() + "/" + escapeName("sub/1"), HandleInfo{Kind: "consumer", Topic: "persistent://t/ns/a b+c", Subscription: "sub/1"}},
		{"/ws/v3/consumer/" + escapeName("s 2"), HandleInfo{Kind: "consumer", Subscription: "s 2"}},
		{"/bad", HandleInfo{}},
	} {
		if got := handleInfo(c.path); got != c.want {
			t.Errorf("handleInfo(%q) = %+v, want %+v", c.path, got, c.want)
		}
	}
}
