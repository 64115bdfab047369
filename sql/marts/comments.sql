-- reads: nothing
-- writes: comments on every table, view and column of schema mart
-- The documentation BI tools show (Superset, any SQL client): one comment per mart table, view
-- and column, Vietnamese then English in one string, `<tiếng Việt> | <English>`, in the words of
-- kpis.md and of the KPI labels of etl/contract.py. Units: ratio 0–1 (tỷ lệ), days (ngày),
-- percentage points (điểm phần trăm), counts (số). Each table or view comment gives its grain.
-- Run by etl/kpi.py ensure_views after it (re)creates a view (CREATE OR REPLACE VIEW drops the
-- view's comments) or when this file changed (decision 0051); tests/integration/
-- test_mart_comments.py checks that every mart object and column has one. A new mart column
-- needs its line here.

-- mart.kpi_value (migration 0001): the contract table of kpis.md.
COMMENT ON TABLE mart.kpi_value IS
    'Giá trị các chỉ số KPI theo kpis.md; mỗi dòng một (loại kỳ, ngày đầu kỳ, đơn vị, mã KPI), chỉ dòng có mẫu số > 0 | KPI values as kpis.md defines them; one row per (period_type, period_start, agency_code, kpi_code), only rows whose denominator > 0';
COMMENT ON COLUMN mart.kpi_value.period_type IS
    'Loại kỳ: month (tháng), quarter (quý) hoặc year (năm) | Period type: month, quarter or year';
COMMENT ON COLUMN mart.kpi_value.period_start IS
    'Ngày đầu kỳ (ngày địa phương) | First local day of the period';
COMMENT ON COLUMN mart.kpi_value.agency_code IS
    'Mã đơn vị (MaDonVi) ghi trên hồ sơ, giao dịch; * là tất cả đơn vị | Agency code (MaDonVi) as recorded; * for all agencies together';
COMMENT ON COLUMN mart.kpi_value.kpi_code IS
    'Mã chỉ số KPI (kpis.md, mart.kpi_target) | KPI code (kpis.md, mart.kpi_target)';
COMMENT ON COLUMN mart.kpi_value.numerator IS
    'Tử số: số hồ sơ, giao dịch hoặc TTHC (số nguyên); với AVG_DAYS_* là tổng số ngày xử lý | Numerator: a count of dossiers, payments or procedures (integer-valued); for AVG_DAYS_* a sum of processing days';
COMMENT ON COLUMN mart.kpi_value.denominator IS
    'Mẫu số: số hồ sơ, giao dịch hoặc TTHC được tính trong kỳ (> 0) | Denominator: the dossiers, payments or procedures counted in the period (> 0)';
COMMENT ON COLUMN mart.kpi_value.value IS
    'Giá trị = tử số / mẫu số: tỷ lệ 0–1, hoặc số ngày bình quân với AVG_DAYS_* | Value = numerator / denominator: a ratio 0–1, or average days for AVG_DAYS_*';
COMMENT ON COLUMN mart.kpi_value.target IS
    'Chỉ tiêu (tỷ lệ 0–1) từ mart.kpi_target; null nếu KPI không có chỉ tiêu | Target (ratio 0–1) from mart.kpi_target; null where the KPI has none';
COMMENT ON COLUMN mart.kpi_value.met IS
    'Đạt chỉ tiêu: value ≥ target; null nếu không có chỉ tiêu | Target met: value ≥ target; null where no target';

-- mart.kpi_target (migration 0001, filled by the seed from etl/contract.py).
COMMENT ON TABLE mart.kpi_target IS
    'Chỉ tiêu các chỉ số KPI (QĐ UBND TP Bà Rịa 2023; QĐ 766/QĐ-TTg nơi quyết định không quy định); mỗi dòng một mã KPI có chỉ tiêu | KPI targets (city decision 2023; Decision 766/QĐ-TTg where it is silent); one row per kpi_code with a target';
COMMENT ON COLUMN mart.kpi_target.kpi_code IS
    'Mã chỉ số KPI | KPI code';
COMMENT ON COLUMN mart.kpi_target.target IS
    'Chỉ tiêu: tỷ lệ tối thiểu 0–1 giá trị KPI phải đạt (value ≥ target) | Target: the minimum ratio 0–1 the KPI value must reach (value ≥ target)';
COMMENT ON COLUMN mart.kpi_target.source IS
    'Nguồn chỉ tiêu: văn bản, điều, khoản | Source of the target: decision, article, clause';

-- marts/views/agency_closure.sql
COMMENT ON VIEW mart.agency_ancestor IS
    'Cây đơn vị (MaDonViCha): mỗi đơn vị với chính nó và từng đơn vị cấp trên; mỗi dòng một (đơn vị, đơn vị cấp trên) | Agency hierarchy (MaDonViCha): every agency with itself and each of its ancestors; one row per (agency_code, ancestor_code)';
COMMENT ON COLUMN mart.agency_ancestor.agency_code IS
    'Mã đơn vị (MaDonVi) | Agency code (MaDonVi)';
COMMENT ON COLUMN mart.agency_ancestor.ancestor_code IS
    'Mã đơn vị cấp trên (chính đơn vị khi depth = 0) | Code of an ancestor agency (the agency itself at depth 0)';
COMMENT ON COLUMN mart.agency_ancestor.depth IS
    'Số cấp từ đơn vị lên đơn vị cấp trên: 0 chính nó, 1 đơn vị cha, … | Levels from the agency up to the ancestor: 0 itself, 1 its parent, …';

COMMENT ON VIEW mart.agency_final_successor IS
    'Đơn vị kế thừa cuối cùng sau sắp xếp (chuỗi MaDonViKeThua); mỗi dòng một đơn vị | The agency that finally carries each agency''s work after reorganizations (end of the MaDonViKeThua chain); one row per agency';
COMMENT ON COLUMN mart.agency_final_successor.agency_code IS
    'Mã đơn vị (MaDonVi) | Agency code (MaDonVi)';
COMMENT ON COLUMN mart.agency_final_successor.successor_code IS
    'Mã đơn vị kế thừa cuối cùng (chính đơn vị nếu chưa sáp nhập) | Code of the final successor (the agency itself when it never merged)';
COMMENT ON COLUMN mart.agency_final_successor.hops IS
    'Số lần kế thừa đến đơn vị kế thừa cuối cùng (0 = chưa sáp nhập) | Successions up to the final successor (0 = never merged)';

-- marts/views/kpi_wide_month.sql
COMMENT ON VIEW mart.kpi_wide_month IS
    'Giá trị KPI theo tháng dạng bảng rộng, đọc từ mart.kpi_value; mỗi dòng một (tháng, đơn vị hoặc *), mỗi cột một KPI (null khi KPI không có dòng) | Monthly KPI values in wide form, read from mart.kpi_value; one row per (month, agency or *), one column per KPI (null where the KPI has no row)';
COMMENT ON COLUMN mart.kpi_wide_month.month_start IS
    'Tháng (ngày đầu tháng) | Month (its first day)';
COMMENT ON COLUMN mart.kpi_wide_month.agency_code IS
    'Mã đơn vị (MaDonVi); * là tất cả đơn vị | Agency code (MaDonVi); * for all agencies together';
COMMENT ON COLUMN mart.kpi_wide_month.agency_name IS
    'Tên đơn vị (null với * và mã không có trong danh mục) | Agency name (null for * and codes not in the agency list)';
COMMENT ON COLUMN mart.kpi_wide_month.online_remote_rate IS
    'Tỷ lệ hồ sơ TTHC được người dân, doanh nghiệp thực hiện trực tuyến từ xa — ONLINE_REMOTE_RATE, tỷ lệ 0–1 | Dossiers submitted fully online, remotely — ONLINE_REMOTE_RATE, ratio 0–1';
COMMENT ON COLUMN mart.kpi_wide_month.online_rate IS
    'Tỷ lệ hồ sơ TTHC được người dân, doanh nghiệp thực hiện trực tuyến — ONLINE_RATE, tỷ lệ 0–1 | Dossiers submitted online — ONLINE_RATE, ratio 0–1';
COMMENT ON COLUMN mart.kpi_wide_month.postal_receipt_rate IS
    'Tỷ lệ hồ sơ TTHC tiếp nhận qua dịch vụ bưu chính công ích — POSTAL_RECEIPT_RATE, tỷ lệ 0–1 | Dossiers received by public postal service — POSTAL_RECEIPT_RATE, ratio 0–1';
COMMENT ON COLUMN mart.kpi_wide_month.digitized_rate IS
    'Tỷ lệ hồ sơ TTHC có thành phần hồ sơ được số hóa — DIGITIZED_RATE, tỷ lệ 0–1 | Dossiers with digitized components — DIGITIZED_RATE, ratio 0–1';
COMMENT ON COLUMN mart.kpi_wide_month.dvctt_coverage IS
    'Tỷ lệ TTHC được cung cấp dưới dạng dịch vụ công trực tuyến (DVCTT) — DVCTT_COVERAGE, tỷ lệ 0–1 | Procedures provided as online public services — DVCTT_COVERAGE, ratio 0–1';
COMMENT ON COLUMN mart.kpi_wide_month.fee_proc_online_payable_rate IS
    'Tỷ lệ thủ tục hành chính có yêu cầu nghĩa vụ tài chính được thanh toán trực tuyến trên Cổng Dịch vụ công tỉnh/Cổng Dịch vụ công quốc gia — FEE_PROC_ONLINE_PAYABLE_RATE, tỷ lệ 0–1 | Fee-bearing procedures payable online — FEE_PROC_ONLINE_PAYABLE_RATE, ratio 0–1';
COMMENT ON COLUMN mart.kpi_wide_month.fee_proc_with_online_tx_rate IS
    'Tỷ lệ thủ tục hành chính có phát sinh giao dịch thanh toán trực tuyến — FEE_PROC_WITH_ONLINE_TX_RATE, tỷ lệ 0–1 | Fee-bearing procedures with an online payment — FEE_PROC_WITH_ONLINE_TX_RATE, ratio 0–1';
COMMENT ON COLUMN mart.kpi_wide_month.online_payment_tx_rate IS
    'Tỷ lệ thanh toán trực tuyến trên tổng số giao dịch thanh toán của dịch vụ công — ONLINE_PAYMENT_TX_RATE, tỷ lệ 0–1 | Online payments among all successful payments — ONLINE_PAYMENT_TX_RATE, ratio 0–1';
COMMENT ON COLUMN mart.kpi_wide_month.dossier_online_payment_rate IS
    'Tỷ lệ hồ sơ có phát sinh giao dịch thanh toán trực tuyến — DOSSIER_ONLINE_PAYMENT_RATE, tỷ lệ 0–1 | Fee-bearing dossiers paid online — DOSSIER_ONLINE_PAYMENT_RATE, ratio 0–1';
COMMENT ON COLUMN mart.kpi_wide_month.on_time_rate IS
    'Tỷ lệ hồ sơ TTHC giải quyết đúng hạn — ON_TIME_RATE, tỷ lệ 0–1 | Dossiers finished on time — ON_TIME_RATE, ratio 0–1';
COMMENT ON COLUMN mart.kpi_wide_month.postal_return_rate IS
    'Tỷ lệ hồ sơ TTHC trả kết quả qua dịch vụ bưu chính công ích — POSTAL_RETURN_RATE, tỷ lệ 0–1 | Results returned by public postal service — POSTAL_RETURN_RATE, ratio 0–1';
COMMENT ON COLUMN mart.kpi_wide_month.avg_days_online IS
    'Thời gian xử lý bình quân hồ sơ trực tuyến (ngày) — AVG_DAYS_ONLINE, số ngày bình quân | Average processing time, online dossiers (days) — AVG_DAYS_ONLINE, average days';
COMMENT ON COLUMN mart.kpi_wide_month.avg_days_offline IS
    'Thời gian xử lý bình quân hồ sơ trực tiếp (ngày) — AVG_DAYS_OFFLINE, số ngày bình quân | Average processing time, in-person and postal dossiers (days) — AVG_DAYS_OFFLINE, average days';
COMMENT ON COLUMN mart.kpi_wide_month.targets_met IS
    'Số KPI đạt chỉ tiêu trong tháng (mọi KPI có chỉ tiêu, kể cả KPI không có cột ở đây) | KPIs whose target is met in the month (every KPI with a target, also those without a column here)';
COMMENT ON COLUMN mart.kpi_wide_month.targets_measured IS
    'Số KPI có chỉ tiêu được đo trong tháng | KPIs with a target measured in the month';

-- marts/views/kpi_rollup.sql
COMMENT ON VIEW mart.kpi_rollup IS
    'KPI cộng dồn theo cây đơn vị: mỗi đơn vị cùng mọi đơn vị cấp dưới; mỗi dòng một (loại kỳ, ngày đầu kỳ, đơn vị, mã KPI); chỉ KPI theo hồ sơ, giao dịch (không có DVCTT_COVERAGE, FEE_PROC_*), không có dòng * | KPIs rolled up the agency hierarchy: each agency with everything below it; one row per (period_type, period_start, agency_code, kpi_code); fact-based KPIs only (no DVCTT_COVERAGE, FEE_PROC_*), no * row';
COMMENT ON COLUMN mart.kpi_rollup.period_type IS
    'Loại kỳ: month (tháng), quarter (quý) hoặc year (năm) | Period type: month, quarter or year';
COMMENT ON COLUMN mart.kpi_rollup.period_start IS
    'Ngày đầu kỳ (ngày địa phương) | First local day of the period';
COMMENT ON COLUMN mart.kpi_rollup.agency_code IS
    'Mã đơn vị cấp trên được cộng dồn (gồm chính nó và các đơn vị cấp dưới) | Code of the agency rolled up to (itself and every agency below it)';
COMMENT ON COLUMN mart.kpi_rollup.kpi_code IS
    'Mã chỉ số KPI | KPI code';
COMMENT ON COLUMN mart.kpi_rollup.numerator IS
    'Tổng tử số của đơn vị và các đơn vị cấp dưới (số; tổng số ngày với AVG_DAYS_*) | Sum of the numerators of the agency and those below it (a count; a sum of days for AVG_DAYS_*)';
COMMENT ON COLUMN mart.kpi_rollup.denominator IS
    'Tổng mẫu số của đơn vị và các đơn vị cấp dưới | Sum of the denominators of the agency and those below it';
COMMENT ON COLUMN mart.kpi_rollup.value IS
    'Giá trị = tổng tử số / tổng mẫu số: tỷ lệ 0–1, hoặc số ngày bình quân với AVG_DAYS_* | Value = summed numerator / summed denominator: a ratio 0–1, or average days for AVG_DAYS_*';
COMMENT ON COLUMN mart.kpi_rollup.target IS
    'Chỉ tiêu (tỷ lệ 0–1) từ mart.kpi_target; null nếu không có | Target (ratio 0–1) from mart.kpi_target; null where none';
COMMENT ON COLUMN mart.kpi_rollup.met IS
    'Đạt chỉ tiêu: value ≥ target; null nếu không có chỉ tiêu | Target met: value ≥ target; null where no target';
COMMENT ON COLUMN mart.kpi_rollup.agencies IS
    'Số đơn vị có dòng KPI được cộng dồn | Agencies whose KPI rows were added up (count)';

-- marts/views/kpi_ranking.sql
COMMENT ON VIEW mart.kpi_ranking IS
    'Xếp hạng đơn vị theo từng KPI có chỉ tiêu; mỗi dòng một (loại kỳ, ngày đầu kỳ, mã KPI, đơn vị), không có dòng * | Agencies ranked on each KPI with a target; one row per (period_type, period_start, kpi_code, agency_code), no * row';
COMMENT ON COLUMN mart.kpi_ranking.period_type IS
    'Loại kỳ: month (tháng), quarter (quý) hoặc year (năm) | Period type: month, quarter or year';
COMMENT ON COLUMN mart.kpi_ranking.period_start IS
    'Ngày đầu kỳ (ngày địa phương) | First local day of the period';
COMMENT ON COLUMN mart.kpi_ranking.kpi_code IS
    'Mã chỉ số KPI | KPI code';
COMMENT ON COLUMN mart.kpi_ranking.agency_code IS
    'Mã đơn vị (MaDonVi) | Agency code (MaDonVi)';
COMMENT ON COLUMN mart.kpi_ranking.value IS
    'Giá trị KPI của đơn vị (tỷ lệ 0–1) | The agency''s KPI value (ratio 0–1)';
COMMENT ON COLUMN mart.kpi_ranking.target IS
    'Chỉ tiêu (tỷ lệ 0–1) | Target (ratio 0–1)';
COMMENT ON COLUMN mart.kpi_ranking.met IS
    'Đạt chỉ tiêu: value ≥ target | Target met: value ≥ target';
COMMENT ON COLUMN mart.kpi_ranking.gap_to_target IS
    'Chênh lệch value − target (tỷ lệ; âm là dưới chỉ tiêu) | value − target (ratio; negative below the target)';
COMMENT ON COLUMN mart.kpi_ranking.rank IS
    'Hạng của đơn vị theo giá trị giảm dần trong kỳ và KPI (1 = cao nhất; bằng nhau cùng hạng) | The agency''s rank by value, highest first, in the period and KPI (1 = highest; ties share a rank)';
COMMENT ON COLUMN mart.kpi_ranking.agencies_ranked IS
    'Số đơn vị được xếp hạng trong kỳ và KPI | Agencies ranked in the period and KPI (count)';

COMMENT ON VIEW mart.kpi_agency_score IS
    'Điểm của đơn vị so với chỉ tiêu (thứ tự của bảng điểm); mỗi dòng một (loại kỳ, ngày đầu kỳ, đơn vị), chỉ các KPI có chỉ tiêu, không có dòng * | Each agency scored against the targets (the scorecard ordering); one row per (period_type, period_start, agency_code), KPIs with a target only, no * row';
COMMENT ON COLUMN mart.kpi_agency_score.period_type IS
    'Loại kỳ: month (tháng), quarter (quý) hoặc year (năm) | Period type: month, quarter or year';
COMMENT ON COLUMN mart.kpi_agency_score.period_start IS
    'Ngày đầu kỳ (ngày địa phương) | First local day of the period';
COMMENT ON COLUMN mart.kpi_agency_score.agency_code IS
    'Mã đơn vị (MaDonVi) | Agency code (MaDonVi)';
COMMENT ON COLUMN mart.kpi_agency_score.targets_met IS
    'Số KPI đạt chỉ tiêu | KPIs whose target is met (count)';
COMMENT ON COLUMN mart.kpi_agency_score.targets_measured IS
    'Số KPI có chỉ tiêu được đo | KPIs with a target measured (count)';
COMMENT ON COLUMN mart.kpi_agency_score.mean_gap_to_target IS
    'Chênh lệch bình quân value − target trên các KPI có chỉ tiêu (tỷ lệ; âm là dưới chỉ tiêu) | Mean of value − target over the KPIs with a target (ratio; negative below the targets)';
COMMENT ON COLUMN mart.kpi_agency_score.share_met IS
    'Tỷ lệ KPI đạt chỉ tiêu = targets_met / targets_measured, tỷ lệ 0–1 | Share of target KPIs met = targets_met / targets_measured, ratio 0–1';
COMMENT ON COLUMN mart.kpi_agency_score.rank IS
    'Hạng của đơn vị trong kỳ: theo share_met rồi mean_gap_to_target, giảm dần (1 = tốt nhất) | The agency''s rank in the period: by share_met, then mean_gap_to_target, highest first (1 = best)';

-- marts/views/processing_time_working_days.sql
COMMENT ON VIEW mart.dossier_processing_time IS
    'Thời gian xử lý từng hồ sơ của AVG_DAYS_*: đã giải quyết (TrangThaiHoSo 9, 10) và có NgayTiepNhan; mỗi dòng một hồ sơ | Processing time of each dossier of AVG_DAYS_*: finished (TrangThaiHoSo 9 or 10) with a NgayTiepNhan; one row per dossier';
COMMENT ON COLUMN mart.dossier_processing_time.month_start IS
    'Tháng kết thúc xử lý (ngày đầu tháng của NgayKetThucXuLy) | Month finished (first day of the month of NgayKetThucXuLy)';
COMMENT ON COLUMN mart.dossier_processing_time.agency_code IS
    'Mã đơn vị (MaDonVi) ghi trên hồ sơ | Agency code (MaDonVi) on the dossier';
COMMENT ON COLUMN mart.dossier_processing_time.procedure_code IS
    'Mã TTHC (MaTTHC) | Procedure code (MaTTHC)';
COMMENT ON COLUMN mart.dossier_processing_time.channel_code IS
    'Kênh thực hiện (KenhThucHien): 1 trực tiếp, 2 trực tuyến, 3 bưu chính | Channel (KenhThucHien): 1 in person, 2 online, 3 by post';
COMMENT ON COLUMN mart.dossier_processing_time.working_days IS
    'Số ngày làm việc sau ngày tiếp nhận đến hết ngày kết thúc xử lý (trừ cuối tuần, ngày lễ, Tết) | Working days after the received day up to and including the finished day (weekends and public holidays, Tết included, not counted)';
COMMENT ON COLUMN mart.dossier_processing_time.calendar_days IS
    'Số ngày từ NgayTiepNhan đến NgayKetThucXuLy (giây / 86400) | Days from NgayTiepNhan to NgayKetThucXuLy (seconds / 86400)';

COMMENT ON VIEW mart.processing_time_working_days IS
    'Thời gian xử lý theo ngày làm việc, trực tuyến so với trực tiếp và bưu chính; mỗi dòng một (tháng kết thúc xử lý, đơn vị hoặc *, nhóm kênh) | Processing time in working days, online against in person and postal; one row per (month finished, agency or *, channel_group)';
COMMENT ON COLUMN mart.processing_time_working_days.month_start IS
    'Tháng kết thúc xử lý (ngày đầu tháng của NgayKetThucXuLy) | Month finished (first day of the month of NgayKetThucXuLy)';
COMMENT ON COLUMN mart.processing_time_working_days.agency_code IS
    'Mã đơn vị (MaDonVi); * là tất cả đơn vị | Agency code (MaDonVi); * for all agencies together';
COMMENT ON COLUMN mart.processing_time_working_days.channel_group IS
    'Nhóm kênh: online (KenhThucHien 2) hoặc offline (1 trực tiếp, 3 bưu chính) | Channel group: online (KenhThucHien 2) or offline (1 in person, 3 by post)';
COMMENT ON COLUMN mart.processing_time_working_days.dossiers IS
    'Số hồ sơ đã giải quyết | Dossiers finished (count)';
COMMENT ON COLUMN mart.processing_time_working_days.working_days_total IS
    'Tổng số ngày làm việc xử lý các hồ sơ | Sum of the dossiers'' working days';
COMMENT ON COLUMN mart.processing_time_working_days.avg_working_days IS
    'Số ngày làm việc bình quân mỗi hồ sơ | Average working days per dossier';
COMMENT ON COLUMN mart.processing_time_working_days.avg_calendar_days IS
    'Số ngày (lịch) bình quân mỗi hồ sơ, như AVG_DAYS_* | Average calendar days per dossier, as AVG_DAYS_*';

-- marts/views/kpi_restated.sql
COMMENT ON VIEW mart.kpi_restated IS
    'Lịch sử KPI quy về đơn vị hiện hành sau sắp xếp: dòng KPI của mỗi đơn vị cộng vào đơn vị kế thừa cuối cùng; mỗi dòng một (loại kỳ, ngày đầu kỳ, đơn vị kế thừa, mã KPI); chỉ KPI theo hồ sơ, giao dịch (không có DVCTT_COVERAGE, FEE_PROC_*), không có dòng * | KPI history restated onto the agencies that exist after a reorganization: each agency''s KPI rows added to its final successor; one row per (period_type, period_start, agency_code, kpi_code); fact-based KPIs only (no DVCTT_COVERAGE, FEE_PROC_*), no * row';
COMMENT ON COLUMN mart.kpi_restated.period_type IS
    'Loại kỳ: month (tháng), quarter (quý) hoặc year (năm) | Period type: month, quarter or year';
COMMENT ON COLUMN mart.kpi_restated.period_start IS
    'Ngày đầu kỳ (ngày địa phương) | First local day of the period';
COMMENT ON COLUMN mart.kpi_restated.agency_code IS
    'Mã đơn vị kế thừa cuối cùng (mart.agency_final_successor) | Code of the final successor agency (mart.agency_final_successor)';
COMMENT ON COLUMN mart.kpi_restated.kpi_code IS
    'Mã chỉ số KPI | KPI code';
COMMENT ON COLUMN mart.kpi_restated.numerator IS
    'Tổng tử số của các đơn vị nguồn (số; tổng số ngày với AVG_DAYS_*) | Sum of the source agencies'' numerators (a count; a sum of days for AVG_DAYS_*)';
COMMENT ON COLUMN mart.kpi_restated.denominator IS
    'Tổng mẫu số của các đơn vị nguồn | Sum of the source agencies'' denominators';
COMMENT ON COLUMN mart.kpi_restated.value IS
    'Giá trị = tổng tử số / tổng mẫu số: tỷ lệ 0–1, hoặc số ngày bình quân với AVG_DAYS_* | Value = summed numerator / summed denominator: a ratio 0–1, or average days for AVG_DAYS_*';
COMMENT ON COLUMN mart.kpi_restated.target IS
    'Chỉ tiêu (tỷ lệ 0–1) từ mart.kpi_target; null nếu không có | Target (ratio 0–1) from mart.kpi_target; null where none';
COMMENT ON COLUMN mart.kpi_restated.met IS
    'Đạt chỉ tiêu: value ≥ target; null nếu không có chỉ tiêu | Target met: value ≥ target; null where no target';
COMMENT ON COLUMN mart.kpi_restated.source_agencies IS
    'Số đơn vị nguồn được cộng vào (chính nó và các đơn vị đã sáp nhập vào) | Source agencies added up (itself and those merged into it; count)';

-- marts/views/agency.sql
COMMENT ON VIEW mart.agency IS
    'Danh mục đơn vị (core.dim_agency) cho công cụ BI: tên, cấp, đơn vị cha, hiệu lực, đơn vị kế thừa; mỗi dòng một mã đơn vị, phiên bản hiện hành | Agency list (core.dim_agency) for BI tools: name, level, parent, validity, successor; one row per agency_code, its current version';
COMMENT ON COLUMN mart.agency.agency_code IS
    'Mã đơn vị (MaDonVi) | Agency code (MaDonVi)';
COMMENT ON COLUMN mart.agency.agency_name IS
    'Tên đơn vị (TenDonVi) | Agency name (TenDonVi)';
COMMENT ON COLUMN mart.agency.agency_level IS
    'Cấp đơn vị: TINH (tỉnh), HUYEN (huyện), XA (xã); null nếu chưa rõ | Agency level: TINH (province), HUYEN (district), XA (commune); null when unknown';
COMMENT ON COLUMN mart.agency.agency_level_vi IS
    'Tên cấp đơn vị: Cấp tỉnh, Cấp huyện, Cấp xã hoặc Chưa rõ cấp | Agency level in Vietnamese: Cấp tỉnh, Cấp huyện, Cấp xã or Chưa rõ cấp (unknown)';
COMMENT ON COLUMN mart.agency.parent_code IS
    'Mã đơn vị cha (MaDonViCha); null nếu không có | Parent agency code (MaDonViCha); null when none';
COMMENT ON COLUMN mart.agency.valid_from IS
    'Ngày bắt đầu hiệu lực | First day the agency is valid';
COMMENT ON COLUMN mart.agency.valid_to IS
    'Ngày hết hiệu lực (tính cả ngày này); null nếu còn hiệu lực | Last day the agency is valid (inclusive); null while still valid';
COMMENT ON COLUMN mart.agency.is_current IS
    'Còn hiệu lực: valid_to để trống | Still valid: valid_to is null';
COMMENT ON COLUMN mart.agency.successor_code IS
    'Mã đơn vị kế thừa (MaDonViKeThua) sau sắp xếp; null nếu không có | Successor agency code (MaDonViKeThua) after a reorganization; null when none';
COMMENT ON COLUMN mart.agency.is_inferred IS
    'Đơn vị suy ra từ mã ghi trên dữ liệu, chưa có trong danh mục (/donvi) | Inferred: created from a code a record referenced, not yet in the reference list (/donvi)';

-- marts/views/data_quality.sql
COMMENT ON VIEW mart.dq_dossier_without_procedure_version IS
    'Chất lượng dữ liệu: hồ sơ đã tiếp nhận mà MaTTHC không có phiên bản hiệu lực vào ngày tiếp nhận (bị loại khỏi DOSSIER_ONLINE_PAYMENT_RATE và INTERNAL_ONLINE_RATE); mỗi dòng một hồ sơ | Data quality: received dossiers whose MaTTHC has no version valid on the received date (left out of DOSSIER_ONLINE_PAYMENT_RATE and INTERNAL_ONLINE_RATE); one row per dossier';
COMMENT ON COLUMN mart.dq_dossier_without_procedure_version.dossier_id IS
    'Mã hồ sơ (MaHoSo) | Dossier ID (MaHoSo)';
COMMENT ON COLUMN mart.dq_dossier_without_procedure_version.agency_code IS
    'Mã đơn vị (MaDonVi) ghi trên hồ sơ | Agency code (MaDonVi) on the dossier';
COMMENT ON COLUMN mart.dq_dossier_without_procedure_version.procedure_code IS
    'Mã TTHC (MaTTHC) không có phiên bản hiệu lực | Procedure code (MaTTHC) without a valid version';
COMMENT ON COLUMN mart.dq_dossier_without_procedure_version.received_at IS
    'Thời điểm tiếp nhận (NgayTiepNhan, giờ địa phương) | Received at (NgayTiepNhan, local time)';

COMMENT ON VIEW mart.dq_finished_without_received IS
    'Chất lượng dữ liệu: hồ sơ đã giải quyết (TrangThaiHoSo 9, 10) có NgayKetThucXuLy nhưng không có NgayTiepNhan (bị loại khỏi AVG_DAYS_ONLINE, AVG_DAYS_OFFLINE); mỗi dòng một hồ sơ | Data quality: finished dossiers (TrangThaiHoSo 9 or 10) with a NgayKetThucXuLy but no NgayTiepNhan (left out of AVG_DAYS_ONLINE, AVG_DAYS_OFFLINE); one row per dossier';
COMMENT ON COLUMN mart.dq_finished_without_received.dossier_id IS
    'Mã hồ sơ (MaHoSo) | Dossier ID (MaHoSo)';
COMMENT ON COLUMN mart.dq_finished_without_received.agency_code IS
    'Mã đơn vị (MaDonVi) ghi trên hồ sơ | Agency code (MaDonVi) on the dossier';
COMMENT ON COLUMN mart.dq_finished_without_received.procedure_code IS
    'Mã TTHC (MaTTHC) | Procedure code (MaTTHC)';
COMMENT ON COLUMN mart.dq_finished_without_received.channel_code IS
    'Kênh thực hiện (KenhThucHien): 1 trực tiếp, 2 trực tuyến, 3 bưu chính | Channel (KenhThucHien): 1 in person, 2 online, 3 by post';
COMMENT ON COLUMN mart.dq_finished_without_received.finished_at IS
    'Thời điểm kết thúc xử lý (NgayKetThucXuLy, giờ địa phương) | Finished at (NgayKetThucXuLy, local time)';

-- marts/views/quarantine_by_reason.sql
COMMENT ON VIEW mart.quarantine_by_reason IS
    'Bản ghi bị cách ly khi kiểm tra dữ liệu (audit.quarantine), không có nội dung bản ghi; mỗi dòng một (ngày dữ liệu, đối tượng, đơn vị, lý do); bản ghi có hai lý do được đếm ở cả hai | Records quarantined by validation (audit.quarantine), no record content; one row per (window_day, entity, agency_code, reason); a record with two reasons counts under each';
COMMENT ON COLUMN mart.quarantine_by_reason.window_day IS
    'Ngày dữ liệu: ngày địa phương đầu cửa sổ trích xuất của bản ghi | Window day: the local first day of the record''s extraction window';
COMMENT ON COLUMN mart.quarantine_by_reason.window_month IS
    'Tháng dữ liệu: ngày đầu tháng của window_day | Window month: the first day of window_day''s month';
COMMENT ON COLUMN mart.quarantine_by_reason.entity IS
    'Đối tượng: dossier (hồ sơ), payment (thanh toán), agency (đơn vị), procedure (thủ tục), pilot (đăng ký thí điểm) | Entity: dossier, payment, agency, procedure or pilot';
COMMENT ON COLUMN mart.quarantine_by_reason.agency_code IS
    'Mã đơn vị (MaDonVi) ghi trên bản ghi; null nếu bản ghi không ghi | Agency code (MaDonVi) the record names; null when it names none';
COMMENT ON COLUMN mart.quarantine_by_reason.reason IS
    'Lý do cách ly, bằng tiếng Anh như bộ kiểm tra ghi (meta.reason; bản tiếng Việt meta.reason_vi nằm trong expectations/*.json) | Quarantine reason, in English as the suite states it (meta.reason; the Vietnamese meta.reason_vi is in expectations/*.json)';
COMMENT ON COLUMN mart.quarantine_by_reason.record_count IS
    'Số bản ghi bị cách ly (mỗi lần chạy một dòng cho mỗi bản ghi) | Number of records quarantined (one per invalid record per run)';

-- marts/views/focus_procedure.sql
COMMENT ON VIEW mart.focus_procedure IS
    'TTHC cần ưu tiên chuyển sang trực tuyến (QĐ Điều 2 khoản 4): TTHC đã cung cấp DVCTT (toàn trình, một phần) vẫn tiếp nhận hồ sơ giấy; mỗi dòng một (tháng tiếp nhận, đơn vị, TTHC) | Procedures to push online first (city decision Art. 2.4): procedures offered online (TOAN_TRINH, MOT_PHAN) that still received paper dossiers; one row per (month received, agency_code, procedure_code)';
COMMENT ON COLUMN mart.focus_procedure.month_start IS
    'Tháng tiếp nhận (ngày đầu tháng của NgayTiepNhan) | Month received (first day of the month of NgayTiepNhan)';
COMMENT ON COLUMN mart.focus_procedure.agency_code IS
    'Mã đơn vị (MaDonVi) ghi trên hồ sơ | Agency code (MaDonVi) on the dossiers';
COMMENT ON COLUMN mart.focus_procedure.agency_name IS
    'Tên đơn vị (null nếu mã không có trong danh mục) | Agency name (null for a code not in the agency list)';
COMMENT ON COLUMN mart.focus_procedure.procedure_code IS
    'Mã TTHC (MaTTHC) | Procedure code (MaTTHC)';
COMMENT ON COLUMN mart.focus_procedure.procedure_name IS
    'Tên TTHC của phiên bản mới nhất được tính trong tháng | Procedure name, of the latest version counted that month';
COMMENT ON COLUMN mart.focus_procedure.service_level IS
    'Mức độ DVC (MucDoDVC) của phiên bản mới nhất được tính: TOAN_TRINH (toàn trình) hoặc MOT_PHAN (một phần) | Service level (MucDoDVC) of the latest version counted: TOAN_TRINH (fully online) or MOT_PHAN (partly online)';
COMMENT ON COLUMN mart.focus_procedure.paper_received IS
    'Số hồ sơ giấy (KenhThucHien 1 hoặc 3) tiếp nhận trong tháng, của các phiên bản đã cung cấp DVCTT | Paper dossiers (KenhThucHien 1 or 3) received in the month, of the versions offered online (count)';
COMMENT ON COLUMN mart.focus_procedure.online_received IS
    'Số hồ sơ trực tuyến (KenhThucHien 2) tiếp nhận trong tháng, của các phiên bản đã cung cấp DVCTT | Online dossiers (KenhThucHien 2) received in the month, of the versions offered online (count)';
COMMENT ON COLUMN mart.focus_procedure.received IS
    'Tổng số hồ sơ đơn vị tiếp nhận trong tháng, mọi TTHC (mẫu số ONLINE_RATE) | All dossiers the agency received in the month, every procedure (the ONLINE_RATE denominator)';
COMMENT ON COLUMN mart.focus_procedure.agency_online_rate IS
    'Tỷ lệ hồ sơ trực tuyến của đơn vị trong tháng (giá trị ONLINE_RATE), tỷ lệ 0–1 | The agency''s share of dossiers received online in the month (its ONLINE_RATE value), ratio 0–1';
COMMENT ON COLUMN mart.focus_procedure.rank_in_agency IS
    'Hạng trong đơn vị và tháng theo số hồ sơ giấy (1 = nhiều nhất; bằng nhau cùng hạng) | Rank within the agency and month by paper dossiers (1 = the most; ties share a rank)';
COMMENT ON COLUMN mart.focus_procedure.online_rate_gain_pts IS
    'Số điểm phần trăm ONLINE_RATE của đơn vị tăng thêm nếu các hồ sơ giấy này nộp trực tuyến = 100 × paper_received / received | Percentage points the agency''s ONLINE_RATE would gain had these paper dossiers been filed online = 100 × paper_received / received';

-- marts/views/pilot_compliance.sql
COMMENT ON VIEW mart.pilot_compliance IS
    'Thực hiện ngày thí điểm không tiếp nhận hồ sơ giấy (QĐ Điều 2 khoản 3); mỗi dòng một (đơn vị, TTHC đăng ký hiện hành, tháng có dữ liệu) có ngày thí điểm | Paper-free pilot days kept (city decision Art. 2.3); one row per (current registered agency_code and procedure_code, month with data) that has pilot days';
COMMENT ON COLUMN mart.pilot_compliance.agency_code IS
    'Mã đơn vị đăng ký thí điểm (MaDonVi) | Registered agency code (MaDonVi)';
COMMENT ON COLUMN mart.pilot_compliance.procedure_code IS
    'Mã TTHC đăng ký thí điểm (MaTTHC) | Registered procedure code (MaTTHC)';
COMMENT ON COLUMN mart.pilot_compliance.month_start IS
    'Tháng (ngày đầu tháng) | Month (its first day)';
COMMENT ON COLUMN mart.pilot_compliance.service_level IS
    'Mức độ DVC (MucDoDVC) của phiên bản mới nhất có hiệu lực trong tháng (cần TOAN_TRINH); null nếu mã không có trong danh mục | Service level (MucDoDVC) of the latest version valid in the month (TOAN_TRINH expected); null for a code not in the catalogue';
COMMENT ON COLUMN mart.pilot_compliance.pilot_days IS
    'Số ngày thí điểm của cặp đơn vị, TTHC trong tháng | Pilot days of the pair in the month (count)';
COMMENT ON COLUMN mart.pilot_compliance.received_on_pilot_days IS
    'Số hồ sơ của cặp tiếp nhận trong ngày thí điểm | Dossiers of the pair received on its pilot days (count)';
COMMENT ON COLUMN mart.pilot_compliance.online_on_pilot_days IS
    'Số hồ sơ trực tuyến (KenhThucHien 2) tiếp nhận trong ngày thí điểm | Online dossiers (KenhThucHien 2) received on pilot days (count)';
COMMENT ON COLUMN mart.pilot_compliance.paper_on_pilot_days IS
    'Số hồ sơ giấy (KenhThucHien 1 hoặc 3) tiếp nhận trong ngày thí điểm | Paper dossiers (KenhThucHien 1 or 3) received on pilot days (count)';
COMMENT ON COLUMN mart.pilot_compliance.paper_dossier_ids IS
    'Mã hồ sơ (MaHoSo) của các hồ sơ giấy đó, đã sắp xếp; không có dữ liệu cá nhân | MaHoSo of those paper dossiers, sorted; no personal data';

COMMENT ON VIEW mart.pilot_agency_registrations IS
    'Đăng ký thí điểm không giấy theo đơn vị: mỗi đơn vị cần đăng ký 2 TTHC (QĐ Điều 2 khoản 3); mỗi dòng một đơn vị | Paper-free pilot registrations per agency: each agency is asked to register two procedures (city decision Art. 2.3); one row per agency';
COMMENT ON COLUMN mart.pilot_agency_registrations.agency_code IS
    'Mã đơn vị (MaDonVi) | Agency code (MaDonVi)';
COMMENT ON COLUMN mart.pilot_agency_registrations.agency_name IS
    'Tên đơn vị (null nếu mã không có trong danh mục) | Agency name (null for a code not in the agency list)';
COMMENT ON COLUMN mart.pilot_agency_registrations.agency_level IS
    'Cấp đơn vị (CapDonVi): TINH, HUYEN hoặc XA | Agency level (CapDonVi): TINH, HUYEN or XA';
COMMENT ON COLUMN mart.pilot_agency_registrations.in_agency_list IS
    'Đơn vị có trong danh mục /donvi (false: mã chỉ có trong đăng ký thí điểm) | The agency is in /donvi (false: a code seen only in a registration)';
COMMENT ON COLUMN mart.pilot_agency_registrations.registered_procedures IS
    'Số TTHC đăng ký thí điểm hiện hành | Procedures currently registered for the pilot (count)';
COMMENT ON COLUMN mart.pilot_agency_registrations.registered_toan_trinh IS
    'Số TTHC đăng ký có phiên bản hiện hành là DVCTT toàn trình (TOAN_TRINH) | Registered procedures whose version valid today is TOAN_TRINH (count)';
COMMENT ON COLUMN mart.pilot_agency_registrations.fewer_than_two IS
    'Đăng ký ít hơn 2 TTHC như quyết định yêu cầu | Fewer than the two procedures the decision asks of each agency';

-- marts/views/processing_time_by_procedure.sql
COMMENT ON VIEW mart.processing_time_by_procedure IS
    'Thời gian xử lý hồ sơ trực tuyến so với hồ sơ giấy theo từng TTHC (QĐ Điều 2 khoản 7), mọi đơn vị; mỗi dòng một (tháng kết thúc xử lý, TTHC) có hồ sơ của cả hai kênh | Online against paper processing time, procedure by procedure (city decision Art. 2.7), all agencies together; one row per (month finished, procedure_code) with dossiers of both channels';
COMMENT ON COLUMN mart.processing_time_by_procedure.month_start IS
    'Tháng kết thúc xử lý (ngày đầu tháng của NgayKetThucXuLy) | Month finished (first day of the month of NgayKetThucXuLy)';
COMMENT ON COLUMN mart.processing_time_by_procedure.procedure_code IS
    'Mã TTHC (MaTTHC) | Procedure code (MaTTHC)';
COMMENT ON COLUMN mart.processing_time_by_procedure.procedure_name IS
    'Tên TTHC của phiên bản mới nhất trong danh mục (null nếu không có) | Procedure name of the latest version in the catalogue (null when none)';
COMMENT ON COLUMN mart.processing_time_by_procedure.online_finished IS
    'Số hồ sơ trực tuyến (KenhThucHien 2) đã giải quyết | Online dossiers (KenhThucHien 2) finished (count)';
COMMENT ON COLUMN mart.processing_time_by_procedure.paper_finished IS
    'Số hồ sơ giấy (KenhThucHien 1 hoặc 3) đã giải quyết | Paper dossiers (KenhThucHien 1 or 3) finished (count)';
COMMENT ON COLUMN mart.processing_time_by_procedure.online_avg_calendar_days IS
    'Số ngày (lịch) xử lý bình quân hồ sơ trực tuyến | Average calendar days, online dossiers';
COMMENT ON COLUMN mart.processing_time_by_procedure.paper_avg_calendar_days IS
    'Số ngày (lịch) xử lý bình quân hồ sơ giấy | Average calendar days, paper dossiers';
COMMENT ON COLUMN mart.processing_time_by_procedure.online_avg_working_days IS
    'Số ngày làm việc xử lý bình quân hồ sơ trực tuyến | Average working days, online dossiers';
COMMENT ON COLUMN mart.processing_time_by_procedure.paper_avg_working_days IS
    'Số ngày làm việc xử lý bình quân hồ sơ giấy | Average working days, paper dossiers';
COMMENT ON COLUMN mart.processing_time_by_procedure.working_days_saved_online IS
    'Số ngày làm việc tiết kiệm khi nộp trực tuyến = paper_avg_working_days − online_avg_working_days (âm: trực tuyến chậm hơn) | Working days saved online = paper_avg_working_days − online_avg_working_days (negative: online is slower)';
COMMENT ON COLUMN mart.processing_time_by_procedure.online_faster IS
    'Trực tuyến nhanh hơn: ít ngày làm việc bình quân hơn hồ sơ giấy (bằng nhau là không) | Online faster: fewer average working days than paper (a tie is not)';

-- marts/views/kpi_gap.sql
COMMENT ON VIEW mart.kpi_gap_unit IS
    'Đơn vị đếm của tử số mỗi KPI, tiếng Việt và tiếng Anh; mỗi dòng một mã KPI (không có AVG_DAYS_*) | What a numerator record of each KPI is, in Vietnamese and English; one row per kpi_code (none for AVG_DAYS_*)';
COMMENT ON COLUMN mart.kpi_gap_unit.kpi_code IS
    'Mã chỉ số KPI | KPI code';
COMMENT ON COLUMN mart.kpi_gap_unit.unit_vi IS
    'Bản ghi tử số, tiếng Việt (ví dụ: hồ sơ nộp trực tuyến) | A numerator record, in Vietnamese (e.g. hồ sơ nộp trực tuyến)';
COMMENT ON COLUMN mart.kpi_gap_unit.unit_en IS
    'Bản ghi tử số, tiếng Anh (ví dụ: dossiers filed online) | A numerator record, in English (e.g. dossiers filed online)';

COMMENT ON VIEW mart.kpi_gap IS
    'Khoảng cách đến chỉ tiêu chưa đạt, tính bằng số bản ghi; mỗi dòng một dòng của mart.kpi_value có chỉ tiêu không đạt (met = false) | How far each missed target is, in records; one row per mart.kpi_value row with a target not met (met false)';
COMMENT ON COLUMN mart.kpi_gap.period_type IS
    'Loại kỳ: month (tháng), quarter (quý) hoặc year (năm) | Period type: month, quarter or year';
COMMENT ON COLUMN mart.kpi_gap.period_start IS
    'Ngày đầu kỳ (ngày địa phương) | First local day of the period';
COMMENT ON COLUMN mart.kpi_gap.agency_code IS
    'Mã đơn vị (MaDonVi); * là tất cả đơn vị | Agency code (MaDonVi); * for all agencies together';
COMMENT ON COLUMN mart.kpi_gap.kpi_code IS
    'Mã chỉ số KPI | KPI code';
COMMENT ON COLUMN mart.kpi_gap.numerator IS
    'Tử số: số bản ghi (unit_vi, unit_en) | Numerator: count of records (unit_vi, unit_en)';
COMMENT ON COLUMN mart.kpi_gap.denominator IS
    'Mẫu số (> 0) | Denominator (> 0)';
COMMENT ON COLUMN mart.kpi_gap.value IS
    'Giá trị = tử số / mẫu số, tỷ lệ 0–1 | Value = numerator / denominator, ratio 0–1';
COMMENT ON COLUMN mart.kpi_gap.target IS
    'Chỉ tiêu chưa đạt (tỷ lệ 0–1) | The missed target (ratio 0–1)';
COMMENT ON COLUMN mart.kpi_gap.gap_pts IS
    'Khoảng cách đến chỉ tiêu, điểm phần trăm = 100 × (target − value) | Gap to the target in percentage points = 100 × (target − value)';
COMMENT ON COLUMN mart.kpi_gap.records_needed IS
    'Số bản ghi tử số tối thiểu cần thêm (cùng mẫu số) để đạt chỉ tiêu = ceil(target × denominator − numerator) | Fewest more numerator records (same denominator) that would meet the target = ceil(target × denominator − numerator)';
COMMENT ON COLUMN mart.kpi_gap.unit_vi IS
    'Bản ghi tử số là gì, tiếng Việt (mart.kpi_gap_unit) | What a numerator record is, in Vietnamese (mart.kpi_gap_unit)';
COMMENT ON COLUMN mart.kpi_gap.unit_en IS
    'Bản ghi tử số là gì, tiếng Anh (mart.kpi_gap_unit) | What a numerator record is, in English (mart.kpi_gap_unit)';
