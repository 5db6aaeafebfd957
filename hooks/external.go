package hooks

import (
	"context"
	"maps"
	"slices"
	"time"

	"github.com/tus/tusd/v2/pkg/handler"
	tushooks "github.com/tus/tusd/v2/pkg/hooks"
)

// freshInfoTimeout bounds the .info read that refreshes a post-finish
// event.
const freshInfoTimeout = 30 * time.Second

// HookHandler returns the hook handler to give tusd's
// hooks.NewHandlerWithHooks, and the events to enable with it: enabled
// plus pre-create, which always runs our routing (PreCreate). external is
// the user's hook backend (tusd's pkg/hooks/http, grpc, file or plugin
// handler), or nil for none, in which case enabled is ignored and only
// pre-create is returned. uploads is the data store, to refresh post-finish
// events.
//
// The composite handler:
//   - Setup sets up external.
//   - pre-create runs PreCreate first; its refusal rejects the upload with
//     its own status and body. Then, if the user enabled pre-create, the
//     external hook sees the event with our upload id and Storage set (tusd
//     itself would pass an empty id) and the metadata to be stored (see
//     creationMetadata for the IETF draft form), and may reject it (tusd's
//     400 ERR_UPLOAD_REJECTED unless its HTTPResponse says otherwise), add to
//     the HTTP response, or replace the metadata; changes to the id or to
//     Storage are ignored (and logged). An external hook that fails is a
//     500 with a generic body.
//   - post-finish is forwarded with the upload's fresh FileInfo: Storage
//     then holds Type, Bucket, Key, Route, Owner, Share, Created (RFC
//     3339) and the v1 Tag (base64); never key material.
//   - other events are forwarded as they are when the user enabled them
//     (a post-receive hook can stop an upload as in tusd).
//
// Uploads the store completes on its own (store.Config.OnComplete) are
// reported with Completed, which sends their post-finish event.
func (p *Policy) HookHandler(external tushooks.HookHandler, enabled []tushooks.HookType, uploads Uploads) (*Hooks, []tushooks.HookType) {
	h := &Hooks{p: p, ext: external, uploads: uploads, enabled: map[tushooks.HookType]bool{}}
	events := []tushooks.HookType{tushooks.HookPreCreate}
	if external == nil {
		return h, events
	}
	for _, e := range enabled {
		h.enabled[e] = true
		if !slices.Contains(events, e) {
			events = append(events, e)
		}
	}
	return h, events
}

// Hooks is the composite hook handler of HookHandler.
type Hooks struct {
	p       *Policy
	ext     tushooks.HookHandler
	enabled map[tushooks.HookType]bool
	uploads Uploads
}

var _ tushooks.HookHandler = (*Hooks)(nil)

// Setup implements tushooks.HookHandler.
func (h *Hooks) Setup() error {
	if h.ext == nil {
		return nil
	}
	return h.ext.Setup()
}

// InvokeHook implements tushooks.HookHandler.
func (h *Hooks) InvokeHook(req tushooks.HookRequest) (tushooks.HookResponse, error) {
	if req.Type == tushooks.HookPreCreate {
		return h.preCreate(req.Event)
	}
	if h.ext == nil || !h.enabled[req.Type] {
		return tushooks.HookResponse{}, nil
	}
	if req.Type == tushooks.HookPostFinish {
		req.Event = h.refresh(req.Event)
	}
	return h.ext.InvokeHook(req)
}

func (h *Hooks) preCreate(ev handler.HookEvent) (tushooks.HookResponse, error) {
	ctx := eventContext(ev)
	resp, changes, err := h.p.PreCreate(ev)
	if err != nil {
		// A refusal is not a hook failure: reject with our answer.
		herr := h.p.asClientError(ctx, "pre-create", err)
		return tushooks.HookResponse{RejectUpload: true, HTTPResponse: herr.HTTPResponse}, nil
	}
	if h.ext == nil || !h.enabled[tushooks.HookPreCreate] {
		return tushooks.HookResponse{HTTPResponse: resp, ChangeFileInfo: changes}, nil
	}
	ev.Upload.ID = changes.ID
	ev.Upload.Storage = maps.Clone(changes.Storage)
	if changes.MetaData != nil { // a draft-form creation's Upload-Metadata
		ev.Upload.MetaData = maps.Clone(changes.MetaData)
	}
	res, err := h.ext.InvokeHook(tushooks.HookRequest{Type: tushooks.HookPreCreate, Event: ev})
	if err != nil {
		h.p.unreserveID(changes.ID)
		h.p.log.ErrorContext(ctx, "pre-create hook failed", "id", changes.ID, "error", err)
		return tushooks.HookResponse{}, errHookFailed
	}
	if res.RejectUpload {
		h.p.unreserveID(changes.ID)
		return tushooks.HookResponse{RejectUpload: true, HTTPResponse: res.HTTPResponse}, nil
	}
	ext := res.ChangeFileInfo
	if (ext.ID != "" && ext.ID != changes.ID) || (ext.Storage != nil && !maps.Equal(ext.Storage, changes.Storage)) {
		h.p.log.WarnContext(ctx, "pre-create hook tried to change the upload id or storage; ignored", "id", changes.ID)
	}
	if ext.MetaData != nil {
		changes.MetaData = ext.MetaData
	}
	return tushooks.HookResponse{HTTPResponse: resp.MergeWith(res.HTTPResponse), ChangeFileInfo: changes}, nil
}

// Completed sends the post-finish event of an upload the store completed
// on its own, which tusd never reports (store.Config.OnComplete): its info
// is the stored one, and it carries no HTTP request (none finished it). It
// returns at once; the hook runs in the background, as tusd's post-finish
// hooks do.
func (h *Hooks) Completed(ctx context.Context, info handler.FileInfo) {
	if h.ext == nil || !h.enabled[tushooks.HookPostFinish] {
		return
	}
	ev := handler.HookEvent{Context: context.WithoutCancel(ctx), Upload: info}
	go func() {
		_, err := h.ext.InvokeHook(tushooks.HookRequest{Type: tushooks.HookPostFinish, Event: ev})
		if err != nil {
			h.p.log.ErrorContext(ev.Context, "post-finish hook failed", "id", info.ID, "error", err)
		}
	}()
}

// refresh replaces the event's upload by the store's current FileInfo,
// which carries the tag of a finished upload.
func (h *Hooks) refresh(ev handler.HookEvent) handler.HookEvent {
	if h.uploads == nil {
		return ev
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(eventContext(ev)), freshInfoTimeout)
	defer cancel()
	info, err := h.uploads.Peek(ctx, ev.Upload.ID)
	if err != nil {
		h.p.log.WarnContext(ctx, "post-finish: could not reload the upload's info; sending tusd's", "id", ev.Upload.ID, "error", err)
		return ev
	}
	ev.Upload = info
	return ev
}

func eventContext(ev handler.HookEvent) context.Context {
	if ev.Context != nil {
		return ev.Context
	}
	return context.Background()
}
