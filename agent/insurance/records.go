package insurance

// The records of the purchase–stock–sale interfaces (进销存), with the
// platform's field names. A field tagged req is required by the
// platform; max is its length in characters (see
// firmware-notes/insurance.md for the sources). Every field is written:
// "" when unknown, and null for an unknown price (finl_trns_pric).

// Interface numbers (infno) and the name of each one's input node.
const (
	InfStockTake      = "3501" // 商品盘存上传, node invinfo
	InfStockChange    = "3502" // 商品库存变更, node invinfo
	InfPurchase       = "3503" // 商品采购, node purcinfo
	InfPurchaseReturn = "3504" // 商品采购退货, node purcinfo
	InfSale           = "3505" // 商品销售, node selinfo
	InfSaleReturn     = "3506" // 商品销售退货, node selinfo
	InfDelete         = "3507" // 商品信息删除, node data
)

// Stock change types (inv_chg_type, code table 库存变更类型) of 3502.
const (
	ChangeTransferIn   = "101" // 调拨入库
	ChangeTransferOut  = "102" // 调拨出库
	ChangeStockGain    = "103" // 盘盈
	ChangeStockLoss    = "104" // 盘损
	ChangeDestroyed    = "105" // 销毁
	ChangeOtherIn      = "106" // 其他入库
	ChangeOtherOut     = "107" // 其他出库
	ChangePurchaseIn   = "108" // 商品采购入库 (初始化入库 in one source)
	ChangeReturnOut    = "109" // 商品退货出库
	ChangeDonationIn   = "110" // 赠药入库
	ChangeDonationBack = "111" // 赠药退回出库
)

// Data types (inv_data_type) of 3507: which interface's record a
// deletion names.
const (
	DataStockTake   = "1" // 盘存信息
	DataStockChange = "2" // 库存变更信息
	DataPurchase    = "3" // 采购信息
	DataSale        = "4" // 销售信息
)

// TraceInfo is one entry of a record's trace code list (drugtracinfo,
// 溯源码节点信息), which carries consumables' codes too.
type TraceInfo struct {
	Code string `json:"drug_trac_codg" max:"100"`
}

// StockTake is a 3501 record: the stock of one batch on a day. Each field is
// the platform field its json tag names.
type StockTake struct {
	Code         string      `json:"med_list_codg" req:"y" max:"50"`
	HospitalCode string      `json:"fixmedins_hilist_id" req:"y" max:"30"`
	Name         string      `json:"fixmedins_hilist_name" req:"y" max:"200"`
	RxFlag       string      `json:"rx_flag" req:"y" max:"3"`
	Date         string      `json:"invdate" req:"y"`
	Qty          Qty         `json:"inv_cnt"`
	Lot          string      `json:"manu_lotnum" max:"30"`
	Batch        string      `json:"fixmedins_bchno" req:"y" max:"30"`
	Production   string      `json:"manu_date" req:"y"`
	Expiry       string      `json:"expy_end" req:"y"`
	Memo         string      `json:"memo" max:"500"`
	Traces       []TraceInfo `json:"drugtracinfo"`
}

// StockChange is a 3502 record: items of one batch leaving or entering stock
// otherwise than by purchase or sale. Each field is the platform field its
// json tag names.
type StockChange struct {
	Code         string      `json:"med_list_codg" req:"y" max:"50"`
	Type         string      `json:"inv_chg_type" req:"y" max:"6"`
	HospitalCode string      `json:"fixmedins_hilist_id" req:"y" max:"30"`
	Name         string      `json:"fixmedins_hilist_name" req:"y" max:"200"`
	Batch        string      `json:"fixmedins_bchno" req:"y" max:"30"`
	Price        Price       `json:"pric"`
	Qty          Qty         `json:"cnt"`
	RxFlag       string      `json:"rx_flag" req:"y" max:"3"`
	Time         string      `json:"inv_chg_time" req:"y"`
	Operator     string      `json:"inv_chg_opter_name" max:"50"`
	Memo         string      `json:"memo" max:"500"`
	Split        string      `json:"trdn_flag" req:"y" max:"3"`
	Traces       []TraceInfo `json:"drugtracinfo"`
}

// Purchase is a 3503 record: items of one batch received. Each field is the
// platform field its json tag names.
type Purchase struct {
	Code            string `json:"med_list_codg" req:"y" max:"50"`
	HospitalCode    string `json:"fixmedins_hilist_id" req:"y" max:"30"`
	Name            string `json:"fixmedins_hilist_name" req:"y" max:"200"`
	DeliveryNote    string `json:"dynt_no" max:"50"`
	Batch           string `json:"fixmedins_bchno" req:"y" max:"30"`
	Supplier        string `json:"spler_name" req:"y" max:"200"`
	SupplierLicence string `json:"spler_pmtno" max:"50"`
	Lot             string `json:"manu_lotnum" req:"y" max:"30"`
	Manufacturer    string `json:"prodentp_name" req:"y" max:"200"`
	Registration    string `json:"aprvno" req:"y" max:"100"`
	Production      string `json:"manu_date" req:"y"`
	Expiry          string `json:"expy_end" req:"y"`
	Price           *Price `json:"finl_trns_pric"`
	Qty             Qty    `json:"purc_retn_cnt"`
	InvoiceCode     string `json:"purc_invo_codg" max:"50"`
	InvoiceNo       string `json:"purc_invo_no" max:"50"`
	RxFlag          string `json:"rx_flag" req:"y" max:"3"`
	Time            string `json:"purc_retn_stoin_time" req:"y"`
	Operator        string `json:"purc_retn_opter_name" req:"y" max:"50"`
	Gift            string `json:"prod_geay_flag" max:"3"`
	Memo            string `json:"memo" max:"500"`
}

// PurchaseReturn is a 3504 record: items of one batch sent back to the
// supplier. Each field is the platform field its json tag names.
type PurchaseReturn struct {
	Code            string `json:"med_list_codg" req:"y" max:"50"`
	HospitalCode    string `json:"fixmedins_hilist_id" req:"y" max:"30"`
	Name            string `json:"fixmedins_hilist_name" req:"y" max:"200"`
	Batch           string `json:"fixmedins_bchno" req:"y" max:"30"`
	Supplier        string `json:"spler_name" req:"y" max:"200"`
	SupplierLicence string `json:"spler_pmtno" max:"50"`
	Production      string `json:"manu_date" req:"y"`
	Expiry          string `json:"expy_end" req:"y"`
	Price           *Price `json:"finl_trns_pric"`
	Qty             Qty    `json:"purc_retn_cnt"`
	InvoiceCode     string `json:"purc_invo_codg" max:"50"`
	InvoiceNo       string `json:"purc_invo_no" req:"y" max:"50"`
	RxFlag          string `json:"rx_flag" req:"y" max:"3"`
	Time            string `json:"purc_retn_stoin_time" req:"y"`
	Operator        string `json:"purc_retn_opter_name" req:"y" max:"50"`
	Memo            string `json:"memo" max:"500"`
	PurchaseNo      string `json:"medins_prod_purc_no" max:"50"`
}

// Sale is a 3505 record: items of one batch used on one case's patient. The
// patient's certificate number and name (certno, psn_name) are never
// written. Each field is the platform field its json tag names.
type Sale struct {
	Code               string      `json:"med_list_codg" req:"y" max:"50"`
	HospitalCode       string      `json:"fixmedins_hilist_id" req:"y" max:"30"`
	Name               string      `json:"fixmedins_hilist_name" req:"y" max:"200"`
	Batch              string      `json:"fixmedins_bchno" req:"y" max:"30"`
	DoctorCertType     string      `json:"prsc_dr_cert_type" max:"6"`
	DoctorCertNo       string      `json:"prsc_dr_certno" max:"50"`
	Doctor             string      `json:"prsc_dr_name" req:"y" max:"50"`
	PharmacistCertType string      `json:"phar_cert_type" max:"6"`
	PharmacistCertNo   string      `json:"phar_certno" max:"50"`
	Pharmacist         string      `json:"phar_name" req:"y" max:"50"`
	PharmacistPrac     string      `json:"phar_prac_cert_no" req:"y" max:"50"`
	FeeSettleType      string      `json:"hi_feesetl_type" req:"y" max:"6"`
	Settlement         string      `json:"setl_id" max:"30"`
	VisitNo            string      `json:"mdtrt_sn" req:"y" max:"30"`
	Person             string      `json:"psn_no" max:"30"`
	PersonCertType     string      `json:"psn_cert_type" req:"y" max:"6"`
	PersonCertNo       string      `json:"certno" max:"50"`
	PersonName         string      `json:"psn_name" max:"50"`
	Lot                string      `json:"manu_lotnum" req:"y" max:"30"`
	Production         string      `json:"manu_date" req:"y"`
	Expiry             string      `json:"expy_end"`
	RxFlag             string      `json:"rx_flag" req:"y" max:"3"`
	Split              string      `json:"trdn_flag" req:"y" max:"3"`
	Price              *Price      `json:"finl_trns_pric"`
	Prescription       string      `json:"rxno" max:"40"`
	OutsideRx          string      `json:"rx_circ_flag" max:"3"`
	DocNo              string      `json:"rtal_docno" req:"y" max:"40"`
	IssueNo            string      `json:"stoout_no" max:"40"`
	BatchNo            string      `json:"bchno" max:"30"`
	Barcode            string      `json:"drug_prod_barc" max:"30"`
	Shelf              string      `json:"shelf_posi" max:"20"`
	Qty                Qty         `json:"sel_retn_cnt"`
	Time               string      `json:"sel_retn_time" req:"y"`
	Operator           string      `json:"sel_retn_opter_name" req:"y" max:"50"`
	Memo               string      `json:"memo" max:"500"`
	SettleKind         string      `json:"mdtrt_setl_type" max:"6"`
	Traces             []TraceInfo `json:"drugtracinfo"`
}

// SaleReturn is a 3506 record: items of one batch sold to a case and
// returned. The patient's certificate number and name are never written.
// Each field is the platform field its json tag names.
type SaleReturn struct {
	Code           string      `json:"med_list_codg" req:"y" max:"50"`
	HospitalCode   string      `json:"fixmedins_hilist_id" req:"y" max:"30"`
	Name           string      `json:"fixmedins_hilist_name" req:"y" max:"200"`
	Batch          string      `json:"fixmedins_bchno" req:"y" max:"30"`
	Settlement     string      `json:"setl_id" max:"30"`
	Person         string      `json:"psn_no" max:"30"`
	PersonCertType string      `json:"psn_cert_type" req:"y" max:"6"`
	PersonCertNo   string      `json:"certno" max:"50"`
	PersonName     string      `json:"psn_name" max:"50"`
	Lot            string      `json:"manu_lotnum" req:"y" max:"30"`
	Production     string      `json:"manu_date" req:"y"`
	Expiry         string      `json:"expy_end"`
	RxFlag         string      `json:"rx_flag" req:"y" max:"3"`
	Split          string      `json:"trdn_flag" req:"y" max:"3"`
	Price          *Price      `json:"finl_trns_pric"`
	Qty            Qty         `json:"sel_retn_cnt"`
	Time           string      `json:"sel_retn_time" req:"y"`
	Operator       string      `json:"sel_retn_opter_name" req:"y" max:"50"`
	Memo           string      `json:"memo" max:"500"`
	SaleNo         string      `json:"medins_prod_sel_no" max:"50"`
	VisitNo        string      `json:"mdtrt_sn" req:"y" max:"30"`
	Traces         []TraceInfo `json:"drugtracinfo"`
}

// Delete is a 3507 record: it deletes the record of batch Batch uploaded
// through the interface DataType names (DataStockTake…).
type Delete struct {
	Batch    string `json:"fixmedins_bchno" req:"y" max:"30"`
	DataType string `json:"inv_data_type" req:"y" max:"30"`
}
