package web

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/udi-edge/udi-edge/agent/lifecycle"
)

// Languages the page speaks.
const (
	LangZH = "zh"
	LangEN = "en"
)

// DefaultLang is the language of a station configured with none.
const DefaultLang = LangZH

// LangCookie remembers the language a browser chose (?lang=).
const LangCookie = "udi_page_lang"

// ValidLang reports whether the page speaks l (zh or en).
func ValidLang(l string) bool { return l == LangZH || l == LangEN }

// lang is the language a page is rendered in; templates call T.
type lang string

// T returns the text of key in l; the key itself when it has none (a
// missing text shows, it does not break the page).
func (l lang) T(key string) string {
	if m, ok := texts[key]; ok {
		if l == LangEN {
			return m[0]
		}
		return m[1]
	}
	return key
}

// Code is the other language's code, for the switch in the header.
func (l lang) Other() string {
	if l == LangEN {
		return LangZH
	}
	return LangEN
}

// Time formats t as the screen shows it.
func (l lang) Time(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format("15:04:05")
}

// pick chooses the language of a request: ?lang= (remembered in a
// cookie), else the cookie, else the station's configured language,
// else the page's.
func (s *Server) pick(w http.ResponseWriter, r *http.Request, station string) lang {
	if q := r.URL.Query().Get("lang"); ValidLang(q) {
		http.SetCookie(w, &http.Cookie{Name: LangCookie, Value: q, Path: "/", MaxAge: 365 * 24 * 3600,
			SameSite: http.SameSiteStrictMode, HttpOnly: true, Secure: r.TLS != nil})
		return lang(q)
	}
	if c, err := r.Cookie(LangCookie); err == nil && ValidLang(c.Value) {
		return lang(c.Value)
	}
	if l := s.cfg.StationLang[station]; ValidLang(l) {
		return lang(l)
	}
	return lang(s.cfg.Lang)
}

// texts are the page's words: English, Chinese.
var texts = map[string][2]string{
	"title":              {"udi-edge station", "udi-edge 工作站"},
	"stations":           {"Stations", "工作站"},
	"point_of_use":       {"Point of use", "使用点"},
	"warehouse":          {"Warehouse", "库房"},
	"audit":              {"Audit", "审计"},
	"open_case":          {"Open case", "当前病例"},
	"no_case":            {"No case open: scan the patient's wristband", "无进行中的病例：请扫描患者腕带"},
	"patient":            {"Patient", "患者"},
	"case":               {"Case", "病例"},
	"close_case":         {"CLOSE CASE", "结束病例"},
	"close_confirm":      {"Tap again to close", "再点一次确认结束"},
	"close_sent":         {"Closing the case…", "正在结束病例…"},
	"close_none":         {"No close-case barcode is configured", "未配置结束病例指令码"},
	"scans":              {"Scans", "扫描记录"},
	"no_scans":           {"No scan yet", "暂无扫描"},
	"pending":            {"Justification needed", "需填写使用理由"},
	"pending_help":       {"Imported item: choose why it is used", "进口耗材：请选择使用理由"},
	"justified":          {"Justification recorded", "使用理由已记录"},
	"v_accepted":         {"Accepted", "通过"},
	"v_warned":           {"Warning", "警告"},
	"v_pending":          {"Needs a justification", "需填写使用理由"},
	"v_blocked":          {"BLOCKED — do not use", "禁止使用"},
	"v_rejected":         {"Not understood — not recorded as an item", "无法识别"},
	"v_failed":           {"NOT RECORDED — scan again", "未记录，请重新扫描"},
	"fail_disk_full":     {"The gateway's disk is full: no scan can be recorded until space is freed. Call IT; keep the item aside and scan it again when a scan is accepted.", "网关磁盘已满：释放空间前任何扫描都无法记录。请联系信息科；先保留该物品，待扫描恢复正常后再扫描。"},
	"fail_ledger":        {"The gateway's ledger could not record it", "网关台账未能记录此次扫描"},
	"v_context":          {"Noted", "已记录"},
	"live":               {"live", "实时"},
	"reconnecting":       {"Connection lost: reconnecting…", "连接中断，正在重连…"},
	"read_only":          {"Read-only: your role cannot act here", "只读：您的角色不能在此操作"},
	"par":                {"Stock against par", "库存与定额"},
	"location":           {"Location", "位置"},
	"product":            {"Product", "产品"},
	"on_hand":            {"On hand", "在库"},
	"reorder_point":      {"Reorder point", "补货点"},
	"max":                {"Max", "上限"},
	"below":              {"below", "低于补货点"},
	"requests":           {"Open replenishment requests", "待补货申请"},
	"quantity":           {"Quantity", "数量"},
	"arrived":            {"Arrived", "已到"},
	"urgency":            {"Urgency", "紧急程度"},
	"supplier":           {"Supplier", "供应商"},
	"expiring":           {"Expiring soon", "近效期"},
	"expiry":             {"Expiry", "有效期"},
	"days_left":          {"Days left", "剩余天数"},
	"lot":                {"Lot", "批号"},
	"units":              {"Units", "数量"},
	"owner":              {"Owner", "所有者"},
	"hospital":           {"hospital", "医院"},
	"totals":             {"Stock by location", "各位置库存"},
	"expired":            {"Expired", "已过期"},
	"count":              {"Last cycle count", "最近一次盘点"},
	"no_count":           {"No cycle count yet", "暂无盘点"},
	"counting":           {"still counting", "盘点中"},
	"found":              {"Found", "盘到"},
	"expected":           {"Expected", "应有"},
	"matched":            {"Matched", "相符"},
	"differences":        {"Differences", "差异"},
	"no_differences":     {"No differences", "无差异"},
	"kind":               {"Kind", "类型"},
	"item":               {"Item", "单品"},
	"ledger_at":          {"Ledger has it at", "账上位置"},
	"commission":         {"Unknown tags to commission", "待赋码的未知标签"},
	"none":               {"None", "无"},
	"trace":              {"Trace a code", "追溯编码"},
	"trace_go":           {"Trace", "追溯"},
	"code":               {"Code", "编码"},
	"time":               {"Time", "时间"},
	"movement":           {"Movement", "动作"},
	"station":            {"Station", "工作站"},
	"decision":           {"Decision", "判定"},
	"reason":             {"Reason", "原因"},
	"settlements":        {"Settlement lines", "医保结算明细"},
	"anomalies":          {"Anomalies", "异常"},
	"reconcile":          {"Reconcile", "对账"},
	"verify":             {"Verify the ledger", "校验账本"},
	"intact":             {"The hash chain is intact", "哈希链完整"},
	"broken":             {"The ledger is NOT intact", "账本不完整"},
	"movements":          {"Movements", "记录数"},
	"last_hash":          {"Last hash", "最后哈希"},
	"problems":           {"Problems", "问题"},
	"warnings":           {"Warnings", "提示"},
	"findings_none":      {"Nothing found", "未发现问题"},
	"more":               {"more not shown", "条未显示"},
	"no_movements":       {"The ledger has no movement of this code", "账本中没有该编码的记录"},
	"truncated":          {"more movements than shown", "记录过多，仅显示部分"},
	"sign_in":            {"Sign in", "登录"},
	"token":              {"Token", "令牌"},
	"sign_in_help":       {"Paste the token this screen was given", "请粘贴为本屏幕分配的令牌"},
	"bad_token":          {"Unknown token", "令牌无效"},
	"role":               {"Role", "角色"},
	"kind_use":           {"use", "使用"},
	"error":              {"Error", "错误"},
	"busy":               {"Busy: try again in a moment", "系统繁忙，请稍后重试"},
	"reason_R01":         {"No domestic product can replace it", "无可替代的国产产品"},
	"reason_R02":         {"Domestic product out of stock", "国产产品缺货"},
	"reason_R03":         {"The patient's condition or anatomy needs it", "患者病情或解剖结构需要"},
	"reason_R04":         {"Matches an earlier implant", "与既往植入物配套"},
	"reason_R05":         {"Domestic product failed during the case", "国产产品术中无法使用"},
	"reason_R06":         {"Emergency", "急诊抢救"},
	"ctx_patient":        {"Patient identified: case open", "已识别患者：病例开启"},
	"ctx_new_patient":    {"New patient: previous case closed, case opened", "新患者：上一病例已结束，新病例开启"},
	"ctx_case":           {"Case opened", "病例开启"},
	"ctx_badge":          {"Staff identified", "已识别医护人员"},
	"ctx_closed":         {"Case closed", "病例已结束"},
	"ctx_justification":  {"Justification recorded", "使用理由已记录"},
	"ctx_return":         {"Next scan records a return", "下一次扫描记为退回"},
	"ctx_waste":          {"Next scan records waste", "下一次扫描记为损耗"},
	"ctx_loan":           {"Next use is a supplier's loan item", "下一次使用为供应商借用器械"},
	"ctx_cancel":         {"Last scan cancelled", "已撤销上一次扫描"},
	"chk_expired":        {"Expired", "已过期"},
	"chk_recalled":       {"Recalled lot", "召回批次"},
	"chk_used-twice":     {"Already used", "已使用过"},
	"chk_quarantined":    {"Quarantined", "已隔离"},
	"chk_lot-status":     {"Lot on hold", "批次被冻结"},
	"chk_unknown-item":   {"Not in the catalogue", "不在目录中"},
	"chk_no-case":        {"No open case", "无进行中的病例"},
	"chk_expiring-soon":  {"Expiring soon", "即将过期"},
	"chk_imported":       {"Imported item: a justification is needed", "进口耗材：需填写使用理由"},
	"chk_never-received": {"Never received here", "未入库"},
	"chk_label":          {"Label incomplete", "标签信息不全"},
	"chk_withdrawn":      {"Insurance code withdrawn", "医保编码已停用"},
	"chk_procurement":    {"Not the procured product: a justification is needed", "非集采产品：需填写使用理由"},
	"chk_fefo":           {"An earlier-expiring lot is on the shelf", "货架上有更早到期的批次"},
	"chk_history":        {"Item history unreadable: checks ran without it", "单品历史无法读取：已在无历史情况下检查"},
}

// checkTexts map the point-of-use checks' codes (the first flags of a
// decision) to their words.
var checkTexts = map[lifecycle.CheckCode]string{
	lifecycle.CheckExpired:           "chk_expired",
	lifecycle.CheckRecalled:          "chk_recalled",
	lifecycle.CheckUsedTwice:         "chk_used-twice",
	lifecycle.CheckQuarantined:       "chk_quarantined",
	lifecycle.CheckLotStatus:         "chk_lot-status",
	lifecycle.CheckUnknownItem:       "chk_unknown-item",
	lifecycle.CheckNoCase:            "chk_no-case",
	lifecycle.CheckExpiringSoon:      "chk_expiring-soon",
	lifecycle.CheckImported:          "chk_imported",
	lifecycle.CheckNeverReceived:     "chk_never-received",
	lifecycle.CheckLabelIncomplete:   "chk_label",
	lifecycle.CheckWithdrawn:         "chk_withdrawn",
	lifecycle.CheckProcurement:       "chk_procurement",
	lifecycle.CheckFEFO:              "chk_fefo",
	lifecycle.CheckHistoryUnreadable: "chk_history",
}

// contextTexts map the station's own words for a context scan (its
// Reason, agent/station) to the page's.
var contextTexts = map[string]string{
	"patient identified: case open":                  "ctx_patient",
	"new patient: previous case closed, case opened": "ctx_new_patient",
	"case opened":                "ctx_case",
	"staff identified":           "ctx_badge",
	"case closed":                "ctx_closed",
	"next scan records a return": "ctx_return",
	"next scan records waste":    "ctx_waste",
	"next use is a supplier's loan item (bill only)": "ctx_loan",
}

// Reason is a reason for using an imported item that a nurse may choose:
// Code is what the ledger records (as a justification barcode's code
// would be), EN and ZH what the button says.
type Reason struct {
	Code string `json:"code"`
	EN   string `json:"en"`
	ZH   string `json:"zh"`
}

// DefaultReasons are the reasons offered when none are configured.
var DefaultReasons = func() []Reason {
	var out []Reason
	for _, c := range []string{"R01", "R02", "R03", "R04", "R05", "R06"} {
		t := texts["reason_"+c]
		out = append(out, Reason{Code: c, EN: t[0], ZH: t[1]})
	}
	return out
}()

// Text is the reason's words in l.
func (r Reason) Text(l lang) string {
	if l == LangEN {
		return r.EN
	}
	return r.ZH
}

// CheckReasons checks configured reasons: a code of letters, digits and
// - _ . (it goes into the ledger), both texts, no code twice.
func CheckReasons(rs []Reason) error {
	seen := map[string]bool{}
	for i, r := range rs {
		if r.Code == "" || len(r.Code) > 32 || strings.IndexFunc(r.Code, func(c rune) bool {
			return !(c == '-' || c == '_' || c == '.' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9')
		}) >= 0 {
			return fmt.Errorf("%w: reasons[%d].code %q: want 1 to 32 letters, digits, - _ or .", ErrInvalid, i, r.Code)
		}
		if strings.TrimSpace(r.EN) == "" || strings.TrimSpace(r.ZH) == "" {
			return fmt.Errorf("%w: reasons[%d] (%s): want both en and zh texts", ErrInvalid, i, r.Code)
		}
		if seen[r.Code] {
			return fmt.Errorf("%w: reasons[%d].code %q is given twice", ErrInvalid, i, r.Code)
		}
		seen[r.Code] = true
	}
	return nil
}
