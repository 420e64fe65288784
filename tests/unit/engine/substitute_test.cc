// The pure parts of unlearning: substitutes, the projection schedule, the destination
// policies and request validation. No model involved.
#include "engine/unlearn/substitute.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <limits>

#include "engine/base/error.h"
#include "engine/unlearn/destination.h"
#include "engine/unlearn/forgetting_summary.h"
#include "engine/unlearn/request.h"

namespace lethe::unlearn {
namespace {

torch::Tensor Means() {
  // Four class means on the axes of a 3-d W, class 3 far away.
  return torch::tensor({{0.f, 0.f, 0.f}, {1.f, 0.f, 0.f}, {0.f, 2.f, 0.f}, {0.f, 0.f, 9.f}});
}

TEST(Substitute, TruncationWithPsiZeroEqualsAverage) {
  torch::manual_seed(1);
  torch::Tensor w = torch::randn({5, 3});
  torch::Tensor labels = torch::tensor({0, 1, 2, 3, 1}, torch::kLong);
  SubstituteOptions avg;
  avg.kind = SubstituteKind::kAverage;
  SubstituteOptions trunc;
  trunc.kind = SubstituteKind::kTruncation;
  trunc.psi = 0.0;
  SubstituteLatents a = Substitute(avg, w, labels, Means(), -1, 0);
  SubstituteLatents t = Substitute(trunc, w, labels, Means(), -1, 0);
  EXPECT_TRUE(torch::equal(a.w, t.w));
  EXPECT_TRUE(torch::equal(a.w, Means().index_select(0, labels)));
  EXPECT_TRUE(torch::equal(a.labels, labels));
  // psi = 0.5 lies halfway between the code and its class mean.
  trunc.psi = 0.5;
  SubstituteLatents h = Substitute(trunc, w, labels, Means(), -1, 0);
  EXPECT_TRUE(torch::allclose(h.w, 0.5 * (w + Means().index_select(0, labels))));
  // Per-layer codes [N, L, D] broadcast the class mean over layers.
  torch::Tensor w3 = torch::randn({5, 2, 3});
  SubstituteLatents a3 = Substitute(avg, w3, labels, Means(), -1, 0);
  EXPECT_EQ(a3.w.sizes(), w3.sizes());
  EXPECT_TRUE(torch::equal(a3.w.select(1, 1), Means().index_select(0, labels)));
}

TEST(Substitute, ProjectionPsiIsMonotoneAndEndsAtZero) {
  for (PsiSchedule s : {PsiSchedule::kLinear, PsiSchedule::kCosine}) {
    EXPECT_DOUBLE_EQ(ProjectionPsi(s, 0, 50), 1.0);
    double prev = 1.0;
    for (int64_t t = 1; t <= 60; ++t) {
      const double psi = ProjectionPsi(s, t, 50);
      EXPECT_LE(psi, prev) << PsiScheduleName(s) << " at " << t;
      EXPECT_GE(psi, 0.0);
      prev = psi;
    }
    EXPECT_DOUBLE_EQ(ProjectionPsi(s, 50, 50), 0.0);
    EXPECT_DOUBLE_EQ(ProjectionPsi(s, 60, 50), 0.0);
    EXPECT_GT(ProjectionPsi(s, 25, 50), 0.0);
    EXPECT_LT(ProjectionPsi(s, 25, 50), 1.0);
  }
  EXPECT_NEAR(ProjectionPsi(PsiSchedule::kLinear, 10, 40), 0.75, 1e-12);
  EXPECT_NEAR(ProjectionPsi(PsiSchedule::kCosine, 20, 40), 0.5, 1e-12);

  // The substitute itself drifts from w_u (iteration 0) to the class mean.
  SubstituteOptions proj;
  proj.kind = SubstituteKind::kProjection;
  proj.decay_iterations = 10;
  torch::Tensor w = torch::tensor({{4.f, 4.f, 4.f}});
  torch::Tensor labels = torch::tensor({1}, torch::kLong);
  EXPECT_TRUE(torch::allclose(Substitute(proj, w, labels, Means(), -1, 0).w, w));
  EXPECT_TRUE(torch::allclose(Substitute(proj, w, labels, Means(), -1, 10).w, Means()[1]));
  double prev = 1e9;
  for (int64_t t = 0; t <= 10; ++t) {
    const double d =
        (Substitute(proj, w, labels, Means(), -1, t).w - Means()[1]).norm().item<double>();
    EXPECT_LE(d, prev + 1e-6);
    prev = d;
  }
  EXPECT_FALSE(SubstituteIsStatic(proj));
  proj.kind = SubstituteKind::kTruncation;
  EXPECT_TRUE(SubstituteIsStatic(proj));
}

TEST(Substitute, OtherClassPicksTheNearestOtherClassMean) {
  // Rows near class 1's mean (1,0,0): the forgotten class is 1, so the nearest OTHER mean
  // is class 0 at the origin for the first row; the second row sits near class 2.
  torch::Tensor w = torch::tensor({{0.9f, 0.f, 0.f}, {0.9f, 1.8f, 0.f}, {0.f, 0.f, 6.f}});
  torch::Tensor nearest = NearestOtherClass(w, Means(), 1);
  EXPECT_EQ(nearest[0].item<int64_t>(), 0);
  EXPECT_EQ(nearest[1].item<int64_t>(), 2);
  EXPECT_EQ(nearest[2].item<int64_t>(), 3);
  // Excluding the nearest class itself moves the choice to the runner-up.
  EXPECT_EQ(NearestOtherClass(w, Means(), 0)[0].item<int64_t>(), 1);

  SubstituteOptions other;
  other.kind = SubstituteKind::kOtherClass;
  SubstituteLatents s = Substitute(other, w, torch::full({3}, 1, torch::kLong), Means(), 1, 0);
  EXPECT_TRUE(torch::equal(s.labels, nearest));
  EXPECT_TRUE(torch::equal(s.w, Means().index_select(0, nearest)));
  // Per-layer codes: the distance sums over layers.
  torch::Tensor w3 = w.unsqueeze(1).repeat({1, 3, 1});
  EXPECT_TRUE(torch::equal(NearestOtherClass(w3, Means(), 1), nearest));
  EXPECT_THROW(NearestOtherClass(w, Means(), 7), Error);
  EXPECT_THROW(NearestOtherClass(w, Means().narrow(0, 0, 1), 0), Error);
}

TEST(Substitute, NamesRoundTripAndUnknownNamesAreRefused) {
  for (auto k : {SubstituteKind::kAverage, SubstituteKind::kTruncation, SubstituteKind::kProjection,
                 SubstituteKind::kOtherClass})
    EXPECT_EQ(ParseSubstitute(SubstituteName(k)), k);
  EXPECT_THROW(ParseSubstitute("mean"), Error);
  EXPECT_EQ(ParsePsiSchedule("cosine"), PsiSchedule::kCosine);
  EXPECT_THROW(ParsePsiSchedule("exp"), Error);
  EXPECT_EQ(ParseMode("zero-shot"), Mode::kZeroShot);
  EXPECT_THROW(ParseMode("one-shot"), Error);
  EXPECT_EQ(ParseLatentSource("inverted"), LatentSource::kInverted);
  EXPECT_EQ(ParseDestinationPolicy("non-member"), DestinationPolicy::kNonMember);
  EXPECT_THROW(ParseDestinationPolicy("loose"), Error);
}

TEST(Destination, ItemPaperPolicyIsAucThreshold) {
  DestinationOptions o;
  Measurement m;
  m.auc_u = 0.79;
  EXPECT_FALSE(JudgePaper(RequestKind::kItem, o, m).reached);
  m.auc_u = 0.8;
  Verdict v = JudgePaper(RequestKind::kItem, o, m);
  EXPECT_TRUE(v.reached);
  EXPECT_EQ(v.metric, "auc_u");
  EXPECT_DOUBLE_EQ(v.threshold, 0.8);
  o.auc_threshold = 0.9;
  EXPECT_FALSE(JudgePaper(RequestKind::kItem, o, m).reached);
  m.auc_u = std::numeric_limits<double>::quiet_NaN();
  EXPECT_FALSE(JudgePaper(RequestKind::kItem, o, m).reached);
}

TEST(Destination, ClassPaperPolicyNeedsFdAndAuc) {
  DestinationOptions o;
  Measurement m;
  m.auc_u = 0.95;
  m.fd_u = 5.0;
  EXPECT_THROW(JudgePaper(RequestKind::kClass, o, m), Error);  // no threshold known
  o.class_separation_fd = 6.0;
  EXPECT_FALSE(JudgePaper(RequestKind::kClass, o, m).reached);
  m.fd_u = 6.5;
  Verdict v = JudgePaper(RequestKind::kClass, o, m);
  EXPECT_TRUE(v.reached);
  EXPECT_EQ(v.metric, "fd_u");
  EXPECT_DOUBLE_EQ(v.threshold, 6.0);
  m.auc_u = 0.7;  // FD far enough, but D still rates the class like retained images
  EXPECT_FALSE(JudgePaper(RequestKind::kClass, o, m).reached);
  m.auc_u = 0.95;
  o.fd_threshold = 10.0;  // an absolute threshold replaces the scale-free one
  EXPECT_FALSE(JudgePaper(RequestKind::kClass, o, m).reached);
  EXPECT_DOUBLE_EQ(ClassFdThreshold(o), 10.0);
}

TEST(Destination, NonMemberPolicyIsABandAroundOneHalf) {
  DestinationOptions o;
  Measurement m;
  for (double logan : {0.4, 0.5, 0.6}) {
    m.logan_auc = logan;
    EXPECT_TRUE(JudgeNonMember(RequestKind::kItem, o, m).reached) << logan;
  }
  for (double logan : {0.15, 0.39, 0.61, 0.9}) {
    m.logan_auc = logan;
    EXPECT_FALSE(JudgeNonMember(RequestKind::kItem, o, m).reached) << logan;
  }
  // Classes must also leave the generator.
  o.class_separation_fd = 3.0;
  m.logan_auc = 0.5;
  m.fd_u = 2.0;
  EXPECT_FALSE(JudgeNonMember(RequestKind::kClass, o, m).reached);
  m.fd_u = 4.0;
  EXPECT_TRUE(JudgeNonMember(RequestKind::kClass, o, m).reached);
  // Judge dispatches on the policy.
  m.auc_u = 0.5;
  o.policy = DestinationPolicy::kNonMember;
  EXPECT_TRUE(Judge(o.policy, RequestKind::kItem, o, m).reached);
  EXPECT_FALSE(Judge(DestinationPolicy::kPaper, RequestKind::kItem, o, m).reached);
}

TEST(Destination, GeneratorPolicyNeedsDiscriminatorSubstituteAndAttack) {
  DestinationOptions o;
  EXPECT_EQ(o.policy, DestinationPolicy::kGenerator);  // the default
  EXPECT_EQ(DestinationPolicyName(o.policy), "generator");
  EXPECT_EQ(ParseDestinationPolicy("generator"), DestinationPolicy::kGenerator);
  Measurement m;
  m.logan_auc = 0.55;
  m.closer_to_substitute = 0.95;
  // Without the attack's number the policy cannot be reached, but its cheap part holds.
  EXPECT_TRUE(GeneratorPrerequisitesHold(o, m));
  EXPECT_FALSE(JudgeGenerator(RequestKind::kItem, o, m).reached);
  m.generator_auc = 0.58;
  Verdict v = JudgeGenerator(RequestKind::kItem, o, m);
  EXPECT_TRUE(v.reached);
  EXPECT_EQ(v.metric, "generator_auc");
  EXPECT_NE(v.requirement.find("closer_to_substitute >= 0.9"), std::string::npos) << v.requirement;
  // Each criterion alone blocks it.
  m.generator_auc = 0.75;  // G still reproduces the images better than unseen ones
  EXPECT_FALSE(JudgeGenerator(RequestKind::kItem, o, m).reached);
  m.generator_auc = 0.3;  // ... or visibly worse: the erasure marks them
  EXPECT_FALSE(JudgeGenerator(RequestKind::kItem, o, m).reached);
  m.generator_auc = 0.5;
  m.closer_to_substitute = 0.85;
  EXPECT_FALSE(GeneratorPrerequisitesHold(o, m));
  EXPECT_FALSE(JudgeGenerator(RequestKind::kItem, o, m).reached);
  m.closer_to_substitute = 0.95;
  m.logan_auc = 0.7;  // D still flags them as members
  EXPECT_FALSE(JudgeGenerator(RequestKind::kItem, o, m).reached);
  // Without test images D's criterion is the paper's AUC_u.
  m.logan_auc = std::numeric_limits<double>::quiet_NaN();
  m.auc_u = 0.7;
  EXPECT_FALSE(JudgeGenerator(RequestKind::kItem, o, m).reached);
  m.auc_u = 0.85;
  EXPECT_TRUE(JudgeGenerator(RequestKind::kItem, o, m).reached);
  EXPECT_TRUE(Judge(DestinationPolicy::kGenerator, RequestKind::kItem, o, m).reached);

  // Classes: the paper's rule and the class no longer recognised in generated images.
  o.class_separation_fd = 3.0;
  Measurement c;
  c.auc_u = 0.9;
  c.fd_u = 4.0;
  c.class_recognition = 0.3;
  EXPECT_TRUE(JudgePaper(RequestKind::kClass, o, c).reached);
  Verdict cv = JudgeGenerator(RequestKind::kClass, o, c);
  EXPECT_FALSE(cv.reached);
  EXPECT_EQ(cv.metric, "class_recognition");
  c.class_recognition = 0.05;
  EXPECT_TRUE(JudgeGenerator(RequestKind::kClass, o, c).reached);
  c.fd_u = 2.0;
  EXPECT_FALSE(JudgeGenerator(RequestKind::kClass, o, c).reached);
}

TEST(Destination, SummarySaysWhetherTheNewVersionStillReproducesTheImages) {
  auto report = [](double before, double after) {
    Json r = Json::Object();
    r["config"] = Json::Object();
    r["config"]["kind"] = "item";
    for (auto [key, v] : {std::pair<const char*, double>{"before", before}, {"after", after}}) {
      r[key] = Json::Object();
      r[key]["mia"] = Json::Object();
      r[key]["mia"]["generator_whitebox_auc"] = v;
    }
    return r;
  };
  const std::string forgot = ForgettingSummary(report(0.82, 0.53));
  EXPECT_NE(forgot.find("no better than images it never saw"), std::string::npos) << forgot;
  EXPECT_NE(forgot.find("the old version did (AUC 0.82)"), std::string::npos) << forgot;
  const std::string nothing = ForgettingSummary(report(0.48, 0.51));
  EXPECT_NE(nothing.find("nothing to detect"), std::string::npos) << nothing;
  const std::string still = ForgettingSummary(report(0.82, 0.74));
  EXPECT_NE(still.find("still reproduces"), std::string::npos) << still;
  const std::string marked = ForgettingSummary(report(0.82, 0.2));
  EXPECT_NE(marked.find("erasure itself is visible"), std::string::npos) << marked;
  const std::string unknown = ForgettingSummary(Json::Object());
  EXPECT_NE(unknown.find("could not run"), std::string::npos) << unknown;
}

TEST(Request, ValidationNamesTheInconsistency) {
  UnlearnRequest r;
  r.forget.images = torch::zeros({2, 1, 8, 8});
  r.forget.labels = torch::tensor({0, 1}, torch::kLong);
  r.forget.ids = {"a", "b"};
  r.forget.hashes = {"x", "y"};
  EXPECT_NO_THROW(ValidateRequest(r, 4));
  r.substitute.kind = SubstituteKind::kOtherClass;
  EXPECT_THROW(ValidateRequest(r, 4), Error);
  r.substitute.kind = SubstituteKind::kTruncation;
  r.substitute.psi = 1.0;
  EXPECT_THROW(ValidateRequest(r, 4), Error);
  r.substitute.psi = 0.3;
  EXPECT_NO_THROW(ValidateRequest(r, 4));
  EXPECT_THROW(ValidateRequest(r, 1), Error);  // label 1 outside a 1-class model
  r.cascade.eval_every = 0;
  EXPECT_THROW(ValidateRequest(r, 4), Error);
  r.cascade.eval_every = 5;

  r.kind = RequestKind::kClass;
  r.forget_class = 0;
  r.substitute.kind = SubstituteKind::kAverage;
  r.destination.class_separation_fd = 1.0;
  EXPECT_THROW(ValidateRequest(r, 4), Error);  // the forget set holds class 1 too
  r.forget.labels = torch::tensor({0, 0}, torch::kLong);
  EXPECT_NO_THROW(ValidateRequest(r, 4));
  r.substitute.kind = SubstituteKind::kProjection;
  EXPECT_THROW(ValidateRequest(r, 4), Error);
  r.substitute.kind = SubstituteKind::kOtherClass;
  r.destination.class_separation_fd = -1.0;
  EXPECT_THROW(ValidateRequest(r, 4), Error);  // no FD destination known

  Json c = ConfigJson(r);
  EXPECT_EQ(c.at("kind").AsString(), "class");
  EXPECT_EQ(c.at("substitute").at("kind").AsString(), "other-class");
  EXPECT_EQ(c.at("cascade").at("zeta").AsDouble(), 0.1);
  EXPECT_EQ(c.at("cascade").at("zeta_on").AsString(), "sigmoid");
}

TEST(Request, LossWeightsDefaultPerKindAndAnExplicitValueWins) {
  UnlearnRequest r;
  r.kind = RequestKind::kItem;
  EXPECT_EQ(AlphaPixel(r), kDefaultItemAlphaPixel);
  EXPECT_EQ(AlphaPerceptual(r), 0.0);
  r.kind = RequestKind::kClass;
  EXPECT_EQ(AlphaPixel(r), kDefaultClassAlphaPixel);
  EXPECT_EQ(AlphaPerceptual(r), kDefaultClassAlphaPerceptual);
  r.cascade.alpha_pixel = 3.0;
  r.cascade.alpha_perceptual = 0.0;  // an explicit 0 turns the feature term off
  EXPECT_EQ(AlphaPixel(r), 3.0);
  EXPECT_EQ(AlphaPerceptual(r), 0.0);
  r.kind = RequestKind::kItem;
  EXPECT_EQ(AlphaPixel(r), 3.0);
  // The report's config holds the weights the cascade used, not "unset".
  Json c = ConfigJson(r);
  EXPECT_EQ(c.at("cascade").at("alpha_pixel").AsDouble(), 3.0);
  r.cascade.alpha_pixel.reset();
  EXPECT_EQ(ConfigJson(r).at("cascade").at("alpha_pixel").AsDouble(), kDefaultItemAlphaPixel);
  // Negative or not-a-number weights are refused.
  r.forget.images = torch::zeros({1, 1, 8, 8});
  r.forget.labels = torch::tensor({0}, torch::kLong);
  r.forget.ids = {"a"};
  r.forget.hashes = {"x"};
  EXPECT_NO_THROW(ValidateRequest(r, 4));
  r.cascade.alpha_perceptual = -1.0;
  EXPECT_THROW(ValidateRequest(r, 4), Error);
  r.cascade.alpha_perceptual = std::nan("");
  EXPECT_THROW(ValidateRequest(r, 4), Error);
}

TEST(Request, InversionStartNamesRoundTrip) {
  for (InversionStart s : {InversionStart::kClassMean, InversionStart::kNearestSample})
    EXPECT_EQ(ParseInversionStart(InversionStartName(s)), s);
  EXPECT_THROW(ParseInversionStart("nearest"), Error);
  UnlearnRequest r;
  EXPECT_EQ(r.inversion.start, InversionStart::kClassMean);
  EXPECT_EQ(ConfigJson(r).at("inversion").at("start").AsString(), "class-mean");
  r.inversion.start = InversionStart::kNearestSample;
  EXPECT_EQ(ConfigJson(r).at("inversion").at("start").AsString(), "nearest-sample");
}

}  // namespace
}  // namespace lethe::unlearn
