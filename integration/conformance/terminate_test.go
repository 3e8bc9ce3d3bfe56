package conformance

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stargate-go/stargate"
)

func init() {
	register("TopicTerminated", testTopicTerminated)
}

// testTopicTerminated: after a terminate, sends fail with send-error:8
// naming TopicTerminatedException (batching or not), new producers get 503,
// and the client reports both as ErrTopicTerminated, ending its producers;
// a consumer still subscribes to the terminated topic and reads it to the
// end.
func testTopicTerminated(t *testing.T, tg Target) {
	topic := tg.Topic(t)
	e := newEnv(t, tg)
	batching := dial(t, tg, producerPath(topic)+"?batchingEnabled=true")
	batching.produce("raw", "1")
	p := e.producer(topic, nil)
	pb := e.producer(topic, &stargate.ProducerOptions{Batching: true})
	e.sendAll(p, stargate.Message{Payload: []byte("plain")})
	e.sendAll(pb, stargate.Message{Payload: []byte("batched")})
	tg.Terminate(t, topic)

	batching.send(map[string]any{"payload": b64("late"), "context": "late"})
	a := batching.next()
	if msg, _ := a["errorMsg"].(string); a["result"] != "send-error:8" || a["context"] != "late" || !strings.Contains(msg, "TopicTerminatedException") {
		t.Errorf("batched send after terminate: %v, want send-error:8 naming TopicTerminatedException", a)
	}
	for name, p := range map[string]*stargate.Producer{"plain": p, "batching": pb} {
		_, err := p.Send(e.ctx, stargate.Message{Payload: []byte("late")}).Wait(e.ctx)
		var se *stargate.SendError
		if !errors.As(err, &se) || !errors.Is(err, stargate.ErrTopicTerminated) || stargate.IsRetryable(err) {
			t.Errorf("%s producer, send after terminate: %v, want a *SendError matching ErrTopicTerminated", name, err)
		}
		f := p.Send(e.ctx, stargate.Message{Payload: []byte("later")})
		select {
		case <-f.Done():
		case <-time.After(time.Second):
			t.Errorf("%s producer: a later Send did not fail at once", name)
		}
		if _, err := f.Wait(e.ctx); !errors.Is(err, stargate.ErrTopicTerminated) {
			t.Errorf("%s producer, later send: %v, want ErrTopicTerminated", name, err)
		}
	}
	_, err := e.client.NewProducer(e.ctx, topic, nil)
	var ce *stargate.ConnectError
	if !errors.As(err, &ce) || ce.StatusCode != 503 || !errors.Is(err, stargate.ErrTopicTerminated) || stargate.IsRetryable(err) {
		t.Errorf("new producer: %v, want a 503 *ConnectError matching ErrTopicTerminated", err)
	}

	c := e.consumer(topic, "after", &stargate.ConsumerOptions{InitialPosition: stargate.Earliest})
	got := strs(e.receive(c, 3, true))
	slices.Sort(got)
	if !slices.Equal(got, []string{"batched", "plain", "raw"}) {
		t.Errorf("consumer subscribed after terminate read %v", got)
	}
	eventually(t, waitFor, "endOfTopic on the consumer", func() bool {
		eot, err := c.IsEndOfTopic(e.ctx)
		return err == nil && eot
	})
}
