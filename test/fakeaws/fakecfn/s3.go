package fakecfn

import (
	"bufio"
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// S3Options configure an [S3] fake.
type S3Options struct {
	// Now stamps objects and recorded puts. Default time.Now.
	Now func() time.Time
}

// S3 is an in-memory fake of S3's PutObject, GetObject and HeadObject, enough
// to upload a template and hand CloudFormation its TemplateURL. Buckets spring
// into existence on first use. It is an [http.Handler].
type S3 struct {
	opts    S3Options
	mu      sync.Mutex
	objects map[string]s3Object // "bucket/key"
	puts    []S3Put
}

type s3Object struct {
	data        []byte
	contentType string
	modified    time.Time
}

// S3Put is one recorded PutObject.
type S3Put struct {
	Bucket, Key string
	Size        int
	ContentType string
	CallerARN   string
	// Chunked is true when the body came aws-chunked (streaming SigV4 or
	// trailing checksums) and had to be decoded.
	Chunked bool
	Time    time.Time
}

// NewS3 returns an empty S3 fake.
func NewS3(optFns ...func(*S3Options)) *S3 {
	var o S3Options
	for _, fn := range optFns {
		fn(&o)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &S3{opts: o, objects: map[string]s3Object{}}
}

// PutObject stores data directly, for seeding.
func (s *S3) PutObject(bucket, key string, data []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.objects[bucket+"/"+key] = s3Object{data: bytes.Clone(data), modified: s.opts.Now()}
}

// Object returns a stored object's bytes.
func (s *S3) Object(bucket, key string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.objects[bucket+"/"+key]
	return bytes.Clone(o.data), ok
}

// Puts returns the recorded PutObject calls, oldest first.
func (s *S3) Puts() []S3Put {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]S3Put(nil), s.puts...)
}

// splitS3 finds bucket and key in virtual-hosted (BUCKET.s3[.-]REGION.amazonaws.com,
// BUCKET.localhost) or path-style (any other host) addressing.
func splitS3(host, path string) (bucket, key string) {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	path = strings.TrimPrefix(path, "/")
	if i := strings.Index(host, ".s3."); i > 0 {
		return host[:i], path
	}
	if i := strings.Index(host, ".s3-"); i > 0 {
		return host[:i], path
	}
	if b, ok := strings.CutSuffix(host, ".localhost"); ok && b != "" {
		return b, path
	}
	bucket, key, _ = strings.Cut(path, "/")
	return bucket, key
}

type s3Error struct {
	XMLName   xml.Name `xml:"Error"`
	Code      string
	Message   string
	Key       string `xml:",omitempty"`
	RequestId string
}

func writeS3Error(w http.ResponseWriter, r *http.Request, status int, code, msg, key string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	if r.Method == http.MethodHead {
		return
	}
	body, _ := xml.Marshal(s3Error{Code: code, Message: msg, Key: key, RequestId: newUUID()})
	_, _ = w.Write(append([]byte(xml.Header), body...))
}

// ServeHTTP answers PutObject, GetObject, HeadObject and CreateBucket.
func (s *S3) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rawPath := r.URL.EscapedPath()
	path, err := url.PathUnescape(rawPath)
	if err != nil {
		path = r.URL.Path
	}
	bucket, key := splitS3(r.Host, path)
	if bucket == "" {
		writeS3Error(w, r, http.StatusNotImplemented, "NotImplemented", "fakecfn: bucket listing is not supported", "")
		return
	}
	if key == "" {
		if r.Method == http.MethodPut || r.Method == http.MethodHead {
			w.WriteHeader(http.StatusOK) // CreateBucket / HeadBucket: buckets always exist
			return
		}
		writeS3Error(w, r, http.StatusNotImplemented, "NotImplemented", "fakecfn: bucket operations are not supported", "")
		return
	}
	switch r.Method {
	case http.MethodPut:
		s.put(w, r, bucket, key)
	case http.MethodGet, http.MethodHead:
		s.get(w, r, bucket, key)
	default:
		writeS3Error(w, r, http.StatusNotImplemented, "NotImplemented", "fakecfn: "+r.Method+" is not supported", key)
	}
}

func (s *S3) put(w http.ResponseWriter, r *http.Request, bucket, key string) {
	if r.Header.Get("X-Amz-Copy-Source") != "" {
		writeS3Error(w, r, http.StatusNotImplemented, "NotImplemented", "fakecfn: CopyObject is not supported", key)
		return
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	if err != nil {
		writeS3Error(w, r, http.StatusBadRequest, "IncompleteBody", err.Error(), key)
		return
	}
	data := raw
	chunked := strings.Contains(r.Header.Get("Content-Encoding"), "aws-chunked") ||
		strings.HasPrefix(r.Header.Get("X-Amz-Content-Sha256"), "STREAMING-")
	var trailers http.Header
	if chunked {
		data, trailers, err = decodeAWSChunked(raw)
		if err != nil {
			writeS3Error(w, r, http.StatusBadRequest, "IncompleteBody", "decoding aws-chunked body: "+err.Error(), key)
			return
		}
		if dl := r.Header.Get("X-Amz-Decoded-Content-Length"); dl != "" {
			if n, err := strconv.Atoi(dl); err == nil && n != len(data) {
				writeS3Error(w, r, http.StatusBadRequest, "IncompleteBody", fmt.Sprintf("decoded %d bytes, header says %d", len(data), n), key)
				return
			}
		}
	}
	if err := verifyChecksums(data, r.Header, trailers); err != nil {
		writeS3Error(w, r, http.StatusBadRequest, "BadDigest", err.Error(), key)
		return
	}
	caller := r.Header.Get(HeaderCallerARN)
	if caller == "" {
		caller = AnonymousCaller
	}
	sum := md5.Sum(data)
	etag := `"` + hex.EncodeToString(sum[:]) + `"`
	s.mu.Lock()
	now := s.opts.Now()
	s.objects[bucket+"/"+key] = s3Object{data: data, contentType: r.Header.Get("Content-Type"), modified: now}
	s.puts = append(s.puts, S3Put{Bucket: bucket, Key: key, Size: len(data), ContentType: r.Header.Get("Content-Type"),
		CallerARN: caller, Chunked: chunked, Time: now})
	s.mu.Unlock()
	w.Header().Set("ETag", etag)
	w.Header().Set("x-amz-request-id", newUUID())
	w.WriteHeader(http.StatusOK)
}

func (s *S3) get(w http.ResponseWriter, r *http.Request, bucket, key string) {
	s.mu.Lock()
	o, ok := s.objects[bucket+"/"+key]
	s.mu.Unlock()
	if !ok {
		writeS3Error(w, r, http.StatusNotFound, "NoSuchKey", "The specified key does not exist.", key)
		return
	}
	sum := md5.Sum(o.data)
	ct := o.contentType
	if ct == "" {
		ct = "binary/octet-stream"
	}
	w.Header().Set("ETag", `"`+hex.EncodeToString(sum[:])+`"`)
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Length", strconv.Itoa(len(o.data)))
	w.Header().Set("Last-Modified", o.modified.UTC().Format(http.TimeFormat))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = w.Write(o.data)
	}
}

// decodeAWSChunked decodes "hex-size[;chunk-signature=...]\r\ndata\r\n" chunks,
// ending with a zero-size chunk and optional trailers (trailing checksums).
func decodeAWSChunked(body []byte) ([]byte, http.Header, error) {
	br := bufio.NewReader(bytes.NewReader(body))
	var out bytes.Buffer
	for range len(body) + 1 { // each chunk consumes at least one byte
		line, err := br.ReadString('\n')
		if err != nil {
			return nil, nil, fmt.Errorf("reading chunk header: %w", err)
		}
		sizeHex, _, _ := strings.Cut(strings.TrimRight(line, "\r\n"), ";")
		size, err := strconv.ParseInt(strings.TrimSpace(sizeHex), 16, 64)
		if err != nil || size < 0 {
			return nil, nil, fmt.Errorf("bad chunk size %q", sizeHex)
		}
		if size == 0 {
			return out.Bytes(), readTrailers(br), nil
		}
		if _, err := io.CopyN(&out, br, size); err != nil {
			return nil, nil, fmt.Errorf("reading chunk data: %w", err)
		}
		crlf := make([]byte, 2)
		if _, err := io.ReadFull(br, crlf); err != nil || string(crlf) != "\r\n" {
			return nil, nil, errors.New("chunk data not followed by CRLF")
		}
	}
	return nil, nil, errors.New("too many chunks")
}

// readTrailers reads "name:value" lines up to a blank line or the end.
func readTrailers(br *bufio.Reader) http.Header {
	h := http.Header{}
	for range 64 {
		line, err := br.ReadString('\n')
		line = strings.TrimRight(line, "\r\n")
		if name, value, ok := strings.Cut(line, ":"); ok {
			h.Add(strings.TrimSpace(name), strings.TrimSpace(value))
		}
		if err != nil || line == "" {
			break
		}
	}
	return h
}

// checksummers are the flexible checksums the fake can verify (not CRC64NVME).
var checksummers = map[string]func([]byte) []byte{
	"X-Amz-Checksum-Crc32": func(b []byte) []byte { return binary.BigEndian.AppendUint32(nil, crc32.ChecksumIEEE(b)) },
	"X-Amz-Checksum-Crc32c": func(b []byte) []byte {
		return binary.BigEndian.AppendUint32(nil, crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli)))
	},
	"X-Amz-Checksum-Sha1":   func(b []byte) []byte { s := sha1.Sum(b); return s[:] },
	"X-Amz-Checksum-Sha256": func(b []byte) []byte { s := sha256.Sum256(b); return s[:] },
}

// verifyChecksums checks x-amz-checksum-* headers or trailers against data.
func verifyChecksums(data []byte, hs ...http.Header) error {
	for _, h := range hs {
		for name, sum := range checksummers {
			want := h.Get(name)
			if want == "" {
				continue
			}
			if got := base64.StdEncoding.EncodeToString(sum(data)); got != want {
				return fmt.Errorf("the %s you specified did not match the calculated checksum", strings.ToLower(name))
			}
		}
	}
	return nil
}
