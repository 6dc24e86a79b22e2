package nationaldb

import "sync"

// pipe hands batches of records from the goroutine that reads a file to
// one that writes them, so that reading the next batch overlaps writing
// this one: at most three batches are held (one filling, one waiting,
// one being written). After a write fails, later batches are dropped and
// add returns the error, which stops the reading.
type pipe[T any] struct {
	cur   []T
	queue chan []T
	free  chan []T
	done  chan struct{}

	mu  sync.Mutex
	err error
}

// startPipe starts the writing goroutine, which calls write with each
// batch of size records (the last one may be shorter).
func startPipe[T any](size int, write func([]T) error) *pipe[T] {
	p := &pipe[T]{cur: make([]T, 0, size), queue: make(chan []T, 1), free: make(chan []T, 2), done: make(chan struct{})}
	p.free <- make([]T, 0, size)
	p.free <- make([]T, 0, size)
	go func() {
		defer close(p.done)
		for b := range p.queue {
			if p.failed() == nil {
				if err := write(b); err != nil {
					p.mu.Lock()
					p.err = err
					p.mu.Unlock()
				}
			}
			clear(b)
			p.free <- b[:0]
		}
	}()
	return p
}

func (p *pipe[T]) failed() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// add adds a record; when the batch is full it is handed to the writer.
// It returns the error of a write that failed.
func (p *pipe[T]) add(x T) error {
	p.cur = append(p.cur, x)
	if len(p.cur) < cap(p.cur) {
		return nil
	}
	return p.flush()
}

// flush hands the batch to the writer and takes a free one.
func (p *pipe[T]) flush() error {
	if err := p.failed(); err != nil {
		return err
	}
	if len(p.cur) > 0 {
		p.queue <- p.cur
		p.cur = <-p.free
	}
	return nil
}

// close writes what is left, waits for the writer and returns the error
// of a write that failed. With abandon set, what is left is not written
// (the reading failed).
func (p *pipe[T]) close(abandon bool) error {
	if !abandon {
		_ = p.flush()
	}
	close(p.queue)
	<-p.done
	return p.failed()
}
