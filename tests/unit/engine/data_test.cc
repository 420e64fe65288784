// Data loaders on small files written here: formats, identity (ids, hashes, fingerprints),
// exclusion, and every kind of corrupt input failing with an error that names the file.
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "engine/base/error.h"
#include "engine/base/file_util.h"
#include "engine/base/png.h"
#include "engine/base/sha256.h"
#include "engine/data/content_hash.h"
#include "engine/data/data_source.h"
#include "engine/data/dataset.h"
#include "engine/data/forget_split.h"
#include "engine/data/sampler.h"

namespace lethe::data {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    path_ = (fs::temp_directory_path() /
             ("lethe_data_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter_++)))
                .string();
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string operator/(const std::string& name) const { return JoinPath(path_, name); }
  const std::string& path() const { return path_; }

 private:
  static inline int counter_ = 0;
  std::string path_;
};

void PutBe32(std::string& s, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) s.push_back(char((v >> shift) & 0xff));
}

// Pixel value of item i at (r, c): distinct per item so hashes differ.
uint8_t Pixel(int i, int r, int c) { return uint8_t((i * 37 + r * 5 + c * 3) % 256); }

std::string IdxImages(int n, int rows, int cols) {
  std::string s("\0\0\x08\x03", 4);
  PutBe32(s, uint32_t(n));
  PutBe32(s, uint32_t(rows));
  PutBe32(s, uint32_t(cols));
  for (int i = 0; i < n; ++i)
    for (int r = 0; r < rows; ++r)
      for (int c = 0; c < cols; ++c) s.push_back(char(Pixel(i, r, c)));
  return s;
}

std::string IdxLabels(const std::vector<int>& labels) {
  std::string s("\0\0\x08\x01", 4);
  PutBe32(s, uint32_t(labels.size()));
  for (int l : labels) s.push_back(char(l));
  return s;
}

void Write(const std::string& path, const std::string& data) { WriteFileAtomic(path, data); }

// Asserts that `fn` throws lethe::Error whose message contains `needle`.
template <typename Fn>
void ExpectErrorNaming(Fn fn, const std::string& needle) {
  try {
    fn();
    FAIL() << "expected an error naming " << needle;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos)
        << "message \"" << e.what() << "\" does not name " << needle;
  }
}

struct IdxFiles {
  std::string images, labels;
};

IdxFiles WriteIdx(const TempDir& dir, int n, bool gz, const std::string& stem = "train") {
  IdxFiles f{dir / (stem + "-images-idx3-ubyte" + (gz ? ".gz" : "")),
             dir / (stem + "-labels-idx1-ubyte" + (gz ? ".gz" : ""))};
  std::vector<int> labels;
  for (int i = 0; i < n; ++i) labels.push_back(i % 10);
  std::string img = IdxImages(n, 28, 28), lab = IdxLabels(labels);
  Write(f.images, gz ? Gzip(img) : img);
  Write(f.labels, gz ? Gzip(lab) : lab);
  return f;
}

TEST(IdxLoader, RawAndGzipGiveTheSameItems) {
  TempDir dir;
  IdxFiles raw = WriteIdx(dir, 12, false, "raw");
  IdxFiles gz = WriteIdx(dir, 12, true, "gz");
  LoadOptions opt;
  Dataset a = LoadIdx(raw.images, raw.labels, "train", opt);
  Dataset b = LoadIdx(gz.images, gz.labels, "train", opt);
  ASSERT_EQ(a.size(), 12);
  EXPECT_EQ(a.num_classes, 10);
  EXPECT_EQ(a.channels(), 1);
  EXPECT_EQ(a.resolution(), 32);
  EXPECT_EQ(a.ids[3], "train/3");
  EXPECT_EQ(a.labels[7].item<int64_t>(), 7);
  EXPECT_TRUE(torch::equal(a.images, b.images));
  EXPECT_EQ(a.Fingerprint(), b.Fingerprint());

  // The hash is SHA-256 of the 28x28 bytes exactly as stored.
  std::string px;
  for (int r = 0; r < 28; ++r)
    for (int c = 0; c < 28; ++c) px.push_back(char(Pixel(5, r, c)));
  EXPECT_EQ(a.hashes[5], Sha256Hex(px));

  // Padding: 2-pixel border of -1, pixel (r, c) at (r + 2, c + 2) scaled to [-1, 1].
  EXPECT_FLOAT_EQ(a.images[5][0][0][0].item<float>(), -1.0f);
  EXPECT_FLOAT_EQ(a.images[5][0][31][31].item<float>(), -1.0f);
  EXPECT_NEAR(a.images[5][0][2 + 4][2 + 9].item<float>(), Pixel(5, 4, 9) / 127.5 - 1.0, 1e-6);
  EXPECT_LE(a.images.max().item<float>(), 1.0f);
  EXPECT_GE(a.images.min().item<float>(), -1.0f);
}

TEST(IdxLoader, ResizesLargerSourcesDown) {
  TempDir dir;
  IdxFiles f = WriteIdx(dir, 3, false);
  LoadOptions opt;
  opt.resolution = 16;
  Dataset d = LoadIdx(f.images, f.labels, "train", opt);
  EXPECT_EQ(d.images.sizes(), (std::vector<int64_t>{3, 1, 16, 16}));
  EXPECT_LE(d.images.max().item<float>(), 1.0f);
  EXPECT_GE(d.images.min().item<float>(), -1.0f);
  // Resizing changes the tensor, never the identity.
  Dataset full = LoadIdx(f.images, f.labels, "train", LoadOptions{});
  EXPECT_EQ(d.Fingerprint(), full.Fingerprint());
}

TEST(IdxLoader, ExclusionAndLimitKeepIdsStable) {
  TempDir dir;
  IdxFiles f = WriteIdx(dir, 10, true);
  Dataset all = LoadIdx(f.images, f.labels, "train", LoadOptions{});
  LoadOptions opt;
  opt.exclude = {"train/2", "train/5"};
  Dataset d = LoadIdx(f.images, f.labels, "train", opt);
  ASSERT_EQ(d.size(), 8);
  EXPECT_EQ(d.IndexOf("train/2"), -1);
  EXPECT_EQ(d.IndexOf("train/5"), -1);
  EXPECT_EQ(d.ids[2], "train/3");
  for (int64_t i = 0; i < d.size(); ++i) {
    int64_t j = all.IndexOf(d.ids[size_t(i)]);
    ASSERT_GE(j, 0);
    EXPECT_EQ(d.hashes[size_t(i)], all.hashes[size_t(j)]);
    EXPECT_TRUE(torch::equal(d.images[i], all.images[j]));
    EXPECT_EQ(d.labels[i].item<int64_t>(), all.labels[j].item<int64_t>());
  }
  EXPECT_NE(d.Fingerprint(), all.Fingerprint());
  // The same exclusion through the Dataset API gives the same data set.
  EXPECT_EQ(all.Without(opt.exclude).Fingerprint(), d.Fingerprint());

  opt.limit = 4;
  Dataset lim = LoadIdx(f.images, f.labels, "train", opt);
  EXPECT_EQ(lim.ids, (std::vector<std::string>{"train/0", "train/1", "train/3", "train/4"}));

  // A head is a fixed subset: exclusion removes items from it and never pulls later ones in.
  LoadOptions head;
  head.head = 6;
  EXPECT_EQ(LoadIdx(f.images, f.labels, "train", head).size(), 6);
  head.exclude = opt.exclude;
  Dataset h = LoadIdx(f.images, f.labels, "train", head);
  EXPECT_EQ(h.ids, (std::vector<std::string>{"train/0", "train/1", "train/3", "train/4"}));
}

TEST(DataSource, ManifestsRecordTheirDataAndOtherDataIsRefused) {
  Json m = Json::Object();
  m["dataset"] = Json::Object();
  m["dataset"]["name"] = "fashion-mnist/train";
  // Older manifests: the source follows from the name.
  EXPECT_EQ(RecordedDataSource(m).spec, "fashion-mnist");
  EXPECT_EQ(RecordedDataSource(m).head, -1);
  m["dataset"]["name"] = "/data/digits/train";
  EXPECT_EQ(RecordedDataSource(m).spec, "/data/digits");
  // Newer ones say it, with the training subset.
  m["dataset"]["spec"] = "fashion-mnist";
  m["dataset"]["head"] = 512;
  DataSource chosen = ChooseDataSource("", m);
  EXPECT_EQ(chosen.spec, "fashion-mnist");
  EXPECT_EQ(chosen.head, 512);
  // The installed data set under its directory name is the same data.
  EXPECT_EQ(ChooseDataSource(kFashionMnistDir + std::string("/"), m).head, 512);
  EXPECT_THROW(ChooseDataSource("/data/digits", m), Error);
  // No record: the flag, else the installed Fashion-MNIST.
  EXPECT_EQ(ChooseDataSource("", Json::Object()).spec, "fashion-mnist");
  EXPECT_EQ(ChooseDataSource("/data/digits", Json::Object()).spec, "/data/digits");
}

TEST(IdxLoader, FingerprintChangesWithOnePixel) {
  TempDir dir;
  IdxFiles f = WriteIdx(dir, 4, false);
  std::string before = LoadIdx(f.images, f.labels, "train", LoadOptions{}).Fingerprint();
  std::string img = ReadFile(f.images);
  img[16 + 2 * 784 + 100] = char(img[16 + 2 * 784 + 100] ^ 1);
  Write(f.images, img);
  Dataset after = LoadIdx(f.images, f.labels, "train", LoadOptions{});
  EXPECT_NE(after.Fingerprint(), before);
  // Only that item's hash changed.
  Dataset again = LoadIdx(f.images, f.labels, "train", LoadOptions{});
  EXPECT_EQ(again.Fingerprint(), after.Fingerprint());
}

TEST(IdxLoader, CorruptFilesAreErrorsNamingTheFile) {
  TempDir dir;
  IdxFiles f = WriteIdx(dir, 5, false);
  const std::string good_images = ReadFile(f.images), good_labels = ReadFile(f.labels);
  LoadOptions opt;
  auto load = [&] { LoadIdx(f.images, f.labels, "train", opt); };

  std::string bad = good_images;
  bad[3] = 0x02;  // wrong magic
  Write(f.images, bad);
  ExpectErrorNaming(load, f.images);

  Write(f.images, good_images.substr(0, good_images.size() - 7));  // truncated
  ExpectErrorNaming(load, f.images);

  Write(f.images, Gzip(good_images).substr(0, 40));  // truncated gzip
  ExpectErrorNaming(load, f.images);

  Write(f.images, good_images);
  Write(f.labels, IdxLabels({0, 1, 2}));  // count mismatch
  ExpectErrorNaming(load, f.labels);

  Write(f.labels, IdxLabels({0, 1, 2, 3, 12}));  // label out of range
  ExpectErrorNaming(load, f.labels);

  Write(f.labels, good_labels);
  ExpectErrorNaming([&] { LoadIdx(dir / "missing", f.labels, "train", opt); }, dir / "missing");
  EXPECT_EQ(LoadIdx(f.images, f.labels, "train", opt).size(), 5);
}

std::string CifarBatch(int n, int first) {
  std::string s;
  for (int i = 0; i < n; ++i) {
    s.push_back(char((first + i) % 10));
    for (int ch = 0; ch < 3; ++ch)
      for (int p = 0; p < 1024; ++p) s.push_back(char((first + i + ch * 50 + p) % 256));
  }
  return s;
}

TEST(CifarLoader, LoadsBatchesWithInterleavedHashes) {
  TempDir dir;
  for (int b = 1; b <= 5; ++b)
    Write(dir / ("data_batch_" + std::to_string(b) + ".bin"), CifarBatch(3, (b - 1) * 3));
  Write(dir / "test_batch.bin", CifarBatch(4, 100));
  Dataset train = LoadDataset(dir.path(), Split::kTrain, LoadOptions{});
  Dataset test = LoadDataset(dir.path(), Split::kTest, LoadOptions{});
  ASSERT_EQ(train.size(), 15);
  ASSERT_EQ(test.size(), 4);
  EXPECT_EQ(train.channels(), 3);
  EXPECT_EQ(train.ids[14], "train/14");
  EXPECT_EQ(test.ids[0], "test/0");
  EXPECT_EQ(train.labels[13].item<int64_t>(), 3);
  // Hash = RGB-interleaved pixels, the same bytes a decoded RGB PNG export has.
  Image8 img{32, 32, 3, {}};
  for (int p = 0; p < 1024; ++p)
    for (int ch = 0; ch < 3; ++ch) img.pixels.push_back(uint8_t((7 + ch * 50 + p) % 256));
  EXPECT_EQ(train.hashes[7], ContentHash(img));
  // Green channel of pixel (0, 1) of item 7.
  EXPECT_NEAR(train.images[7][1][0][1].item<float>(), ((7 + 50 + 1) % 256) / 127.5 - 1.0, 1e-6);

  Write(dir / "data_batch_3.bin", CifarBatch(3, 0).substr(0, 3 * 3073 - 1));
  ExpectErrorNaming([&] { LoadCifar10(dir.path(), Split::kTrain, LoadOptions{}); },
                    "data_batch_3.bin");
  std::string bad_label = CifarBatch(2, 0);
  bad_label[3073] = char(10);
  Write(dir / "data_batch_3.bin", bad_label);
  ExpectErrorNaming([&] { LoadCifar10(dir.path(), Split::kTrain, LoadOptions{}); },
                    "data_batch_3.bin");
}

Image8 TestImage(int w, int h, int channels, int seed) {
  Image8 img{w, h, channels, {}};
  for (int i = 0; i < w * h * channels; ++i)
    img.pixels.push_back(uint8_t((seed * 31 + i * 7) % 256));
  return img;
}

TEST(PngFolderLoader, SortedClassFoldersAndRelativeIds) {
  if (!PngSupported()) GTEST_SKIP() << "built without libpng";
  TempDir dir;
  MakeDirs(dir / "boot");
  MakeDirs(dir / "shirt");
  WritePngFile(dir / "shirt/b.png", TestImage(28, 28, 1, 1));
  WritePngFile(dir / "shirt/a.png", TestImage(28, 28, 1, 2));
  WritePngFile(dir / "boot/z.png", TestImage(28, 28, 1, 3));
  Write(dir / "boot/notes.txt", "ignored");
  Write(dir / "boot/._z.png", "macOS metadata, not a PNG");
  MakeDirs(dir / ".cache");
  Dataset d = LoadDataset(dir.path(), Split::kTrain, LoadOptions{});
  ASSERT_EQ(d.size(), 3);
  EXPECT_EQ(d.num_classes, 2);
  EXPECT_EQ(d.channels(), 1);
  EXPECT_EQ(d.ids, (std::vector<std::string>{"boot/z.png", "shirt/a.png", "shirt/b.png"}));
  EXPECT_EQ(d.labels[0].item<int64_t>(), 0);
  EXPECT_EQ(d.labels[2].item<int64_t>(), 1);
  EXPECT_EQ(d.hashes[1], ContentHash(TestImage(28, 28, 1, 2)));
  EXPECT_EQ(d.IndicesOfClass(1), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(d.ClassCounts(), (std::vector<int64_t>{1, 2}));

  LoadOptions opt;
  opt.exclude = {"shirt/a.png"};
  Dataset ex = LoadPngFolder(dir.path(), opt);
  EXPECT_EQ(ex.ids, (std::vector<std::string>{"boot/z.png", "shirt/b.png"}));
  ExpectErrorNaming([&] { LoadDataset(dir.path(), Split::kTest, LoadOptions{}); }, dir.path());

  // One colour file among greyscale ones is refused, named; with an explicit channel count
  // the data set is RGB and the hash is over RGB pixels.
  WritePngFile(dir / "boot/c.png", TestImage(40, 40, 3, 4));
  ExpectErrorNaming([&] { LoadPngFolder(dir.path(), LoadOptions{}); }, "boot/c.png");
  LoadOptions three;
  three.channels = 3;
  Dataset rgb = LoadPngFolder(dir.path(), three);
  EXPECT_EQ(rgb.channels(), 3);
  EXPECT_EQ(rgb.hashes[0], ContentHash(TestImage(40, 40, 3, 4)));
  fs::remove(dir / "boot/c.png");

  Write(dir / "shirt/broken.png", EncodePng(TestImage(28, 28, 1, 5)).substr(0, 60));
  ExpectErrorNaming([&] { LoadPngFolder(dir.path(), LoadOptions{}); }, "shirt/broken.png");
  Write(dir / "shirt/broken.png", "not a png at all");
  ExpectErrorNaming([&] { LoadPngFolder(dir.path(), LoadOptions{}); }, "shirt/broken.png");
}

TEST(PngFolderLoader, NumberedClassFoldersSortByNumber) {
  if (!PngSupported()) GTEST_SKIP() << "built without libpng";
  TempDir dir;
  for (const char* cls : {"10", "2", "1"}) {
    MakeDirs(dir / cls);
    WritePngFile(dir / (std::string(cls) + "/x.png"), TestImage(8, 8, 1, 9));
  }
  Dataset d = LoadPngFolder(dir.path(), LoadOptions{});
  EXPECT_EQ(d.ids, (std::vector<std::string>{"1/x.png", "2/x.png", "10/x.png"}));
  EXPECT_EQ(d.labels[2].item<int64_t>(), 2);  // "10" is the third class, not the second
}

TEST(PngFolderLoader, TrainTestSplitFolders) {
  if (!PngSupported()) GTEST_SKIP() << "built without libpng";
  TempDir dir;
  for (const char* split : {"train", "test"})
    for (const char* cls : {"a", "b"}) {
      MakeDirs(dir / (std::string(split) + "/" + cls));
      WritePngFile(dir / (std::string(split) + "/" + cls + "/x.png"), TestImage(8, 8, 1, 9));
    }
  EXPECT_TRUE(HasTestSplit(dir.path()));
  Dataset test = LoadDataset(dir.path(), Split::kTest, LoadOptions{});
  EXPECT_EQ(test.ids, (std::vector<std::string>{"test/a/x.png", "test/b/x.png"}));
  LoadOptions opt;
  opt.exclude = {"train/b/x.png"};
  EXPECT_EQ(LoadDataset(dir.path(), Split::kTrain, opt).ids,
            (std::vector<std::string>{"train/a/x.png"}));
}

TEST(DatasetLoader, IdxDirectorySpecAndMissingData) {
  TempDir dir;
  WriteIdx(dir, 6, true, "train");
  WriteIdx(dir, 3, false, "t10k");
  EXPECT_TRUE(HasTestSplit(dir.path()));
  EXPECT_EQ(LoadDataset(dir.path(), Split::kTrain, LoadOptions{}).size(), 6);
  Dataset test = LoadDataset(dir.path(), Split::kTest, LoadOptions{});
  EXPECT_EQ(test.size(), 3);
  EXPECT_EQ(test.ids[2], "test/2");
  ExpectErrorNaming([&] { LoadDataset(dir / "nope", Split::kTrain, LoadOptions{}); }, dir / "nope");
  LoadOptions bad;
  bad.resolution = 0;
  EXPECT_THROW(LoadDataset(dir.path(), Split::kTrain, bad), Error);
}

TEST(DatasetApi, SubsetAndClassIndices) {
  TempDir dir;
  IdxFiles f = WriteIdx(dir, 20, false);
  Dataset d = LoadIdx(f.images, f.labels, "train", LoadOptions{});
  EXPECT_EQ(d.IndicesOfClass(3), (std::vector<int64_t>{3, 13}));
  Dataset s = d.Subset({13, 3});
  EXPECT_EQ(s.ids, (std::vector<std::string>{"train/13", "train/3"}));
  EXPECT_TRUE(torch::equal(s.images[0], d.images[13]));
  EXPECT_EQ(d.Subset({}).size(), 0);
  EXPECT_THROW(d.Subset({20}), Error);
}

TEST(Sampler, EpochsVisitEveryItemAndSeedsReproduce) {
  Sampler a(10, 7), b(10, 7), c(10, 8);
  torch::Tensor first = a.Next(10);
  EXPECT_TRUE(torch::equal(std::get<0>(first.sort()), torch::arange(10)));
  EXPECT_TRUE(torch::equal(first, b.Next(10)));
  EXPECT_FALSE(torch::equal(first, c.Next(10)));
  torch::Tensor spans = a.Next(15);  // the whole second pass plus five of the third
  EXPECT_EQ(spans.numel(), 15);
  EXPECT_TRUE(torch::equal(std::get<0>(spans.narrow(0, 0, 10).sort()), torch::arange(10)));
  EXPECT_EQ(a.epoch(), 2);

  torch::Generator g1 = MakeGenerator(3), g2 = MakeGenerator(3);
  torch::Tensor r = RandomIndices(5, 100, g1);
  EXPECT_TRUE(torch::equal(r, RandomIndices(5, 100, g2)));
  EXPECT_GE(r.min().item<int64_t>(), 0);
  EXPECT_LT(r.max().item<int64_t>(), 5);
  EXPECT_THROW(Sampler(0, 1), Error);
}

TEST(ForgetSplit, ItemsClassesAndIdFiles) {
  TempDir dir;
  IdxFiles f = WriteIdx(dir, 20, false);
  Dataset d = LoadIdx(f.images, f.labels, "train", LoadOptions{});

  ForgetSplit items = SplitByItems(d, {"train/7", "train/2"});
  EXPECT_EQ(items.forgotten.ids, (std::vector<std::string>{"train/7", "train/2"}));
  EXPECT_EQ(items.retained.size(), 18);
  EXPECT_EQ(items.retained.IndexOf("train/7"), -1);
  EXPECT_EQ(items.retained.IndexOf("train/2"), -1);
  EXPECT_TRUE(torch::equal(items.forgotten.images[0], d.images[7]));
  ExpectErrorNaming([&] { SplitByItems(d, {"train/3", "train/99"}); }, "train/99");
  ExpectErrorNaming([&] { SplitByItems(d, {"train/3", "train/3"}); }, "train/3");

  ForgetSplit cls = SplitByClass(d, 4);
  EXPECT_EQ(cls.forgotten.ids, (std::vector<std::string>{"train/4", "train/14"}));
  EXPECT_EQ(cls.retained.size(), 18);
  EXPECT_TRUE(cls.retained.IndicesOfClass(4).empty());
  EXPECT_THROW(SplitByClass(d, 10), Error);

  Write(dir / "ids.txt", "# forget these\ntrain/1\n\n  train/5 \r\n");
  EXPECT_EQ(ReadItemIds(dir / "ids.txt"), (std::vector<std::string>{"train/1", "train/5"}));
  Write(dir / "empty.txt", "\n# nothing\n");
  ExpectErrorNaming([&] { ReadItemIds(dir / "empty.txt"); }, dir / "empty.txt");
  ExpectErrorNaming([&] { ReadItemIds(dir / "absent.txt"); }, dir / "absent.txt");
}

}  // namespace
}  // namespace lethe::data
