"""The covariance parameters of the random effects: where theta sits in a model's parameter vector and how it
fills the covariance factors (:class:`ThetaLayout`), one layout for every model of :mod:`quadlib.glmm`.

Lambda, the factor of the random effects' covariance, is block diagonal: one q x q lower-triangular block per
random term (:func:`quadlib.glmm.lmm`, whose terms keep lme4's order) or per grouping factor (the marginal
likelihood of :func:`quadlib.glmm.fit`, whose blocks stack the terms of one factor), repeated for each of its
levels. Within a term, theta fills the lower triangle column by column (lme4's order); an uncorrelated
``(x || g)`` term, or a diagonal covariance, has only the diagonal entries. Diagonal entries are bounded below
by 0, so that a singular fit (a standard deviation at zero) is a point of the parameter space, as in lme4.

The layout is scale-agnostic: whether Lambda is the covariance factor itself (``fit``, ``nlmm``'s likelihood)
or relative to the residual standard deviation (``lmm``, ``pql``, ``nlmm``'s FOCE) is the model's business.
It also places each block's random effects in the vector u (level-major: level l, column c of a block at
``start + l q + c``), the order of the sparse Z of :func:`quadlib.glmm._design.random_matrix`.
"""
import numpy as np

__all__ = ["CovarianceBlock", "ThetaLayout"]


class CovarianceBlock:
    """One diagonal block of Lambda: the random terms of one grouping factor (or one term), q columns.

    Attributes
    ----------
    group : str
        The grouping factor.
    columns : list of str
        The names of the block's q random effects (its terms' columns, stacked).
    q, n_levels : int
        Random effects per level and levels.
    levels : list or None
        The level names, if known.
    terms : tuple
        The :class:`~quadlib.glmm.RandomTerm` objects stacked in the block (empty if built without them).
    rows, cols : ndarray of intp
        The position in the block's q x q factor of each of its theta entries.
    diagonal : ndarray of bool
        Which of them are on the diagonal (bounded below by 0).
    theta : slice
        The block's entries in the model's parameter vector.
    start, stop : int
        The block's random effects in u (level-major).
    """

    def __init__(self, group, columns, sizes, correlated, n_levels, theta_start, u_start, *, levels=None,
                 terms=()):
        self.group = group
        self.columns = list(columns)
        self.sizes = tuple(int(s) for s in sizes)
        self.correlated = tuple(bool(c) for c in correlated)
        self.q = sum(self.sizes)
        if len(self.columns) != self.q:
            raise ValueError(f"`columns` must name the {self.q} random effects of the block, got {len(self.columns)}")
        self.n_levels = int(n_levels)
        self.levels = None if levels is None else list(levels)
        self.terms = tuple(terms)
        rows, cols, offset = [], [], 0
        for size, corr in zip(self.sizes, self.correlated):
            for c in range(size):
                for r in range(c, size) if corr else (c,):
                    rows.append(offset + r)
                    cols.append(offset + c)
            offset += size
        self.rows = np.array(rows, dtype=np.intp)
        self.cols = np.array(cols, dtype=np.intp)
        self.diagonal = self.rows == self.cols
        self.theta = slice(theta_start, theta_start + self.rows.size)
        self.start, self.stop = u_start, u_start + self.q * self.n_levels

    @property
    def n_theta(self):
        return self.rows.size

    @property
    def entries(self):
        """The (row, col) of each theta entry in the block's factor."""
        return list(zip(self.rows.tolist(), self.cols.tolist()))

    @property
    def index(self):
        """The level of each data row (from the block's terms, which share it)."""
        return self.terms[0].index

    @property
    def Z(self):
        """The block's columns of the random-effects model matrix (N, q), its terms' Z side by side."""
        if len(self.terms) == 1:
            return self.terms[0].Z
        return np.ascontiguousarray(np.hstack([t.Z for t in self.terms]))

    def factor(self, values):
        """The block's q x q lower-triangular factor from its `values` (``params[block.theta]``)."""
        L = np.zeros((self.q, self.q))
        L[self.rows, self.cols] = values
        return L

    def names(self):
        """``theta[group: row, col]`` for each entry, the row and column named by the block's columns."""
        return [f"theta[{self.group}: {self.columns[r]}, {self.columns[c]}]" for r, c in self.entries]

    def __repr__(self):
        return (f"CovarianceBlock({self.group!r}, {self.columns}, q={self.q}, {self.n_levels} levels, "
                f"theta[{self.theta.start}:{self.theta.stop}])")


class ThetaLayout:
    """theta <-> Lambda for every random term of a model (see the module notes).

    Parameters
    ----------
    blocks : list of CovarianceBlock
        With consecutive theta slices and u positions (the constructors below place them).

    Attributes
    ----------
    blocks : list of CovarianceBlock
    offset, n_theta : int
        theta is ``params[offset:offset + n_theta]`` (``slice``).
    n_random : int
        The length of u: every block's random effects for every level.

    Examples
    --------
    >>> from quadlib.glmm import build_design, datasets
    >>> design = build_design("Reaction ~ Days + (Days | Subject)", datasets.load("sleepstudy"))
    >>> layout = ThetaLayout.from_terms(design.terms, offset=2)
    >>> layout.names
    ['theta[Subject: (Intercept), (Intercept)]', 'theta[Subject: Days, (Intercept)]', 'theta[Subject: Days, Days]']
    >>> layout.bounds, layout.start(1.0).tolist()
    ([(0.0, None), (None, None), (0.0, None)], [1.0, 0.0, 1.0])
    >>> layout.factors([251.4, 10.5, 0.97, 0.02, 0.23])[0].tolist()
    [[0.97, 0.0], [0.02, 0.23]]
    """

    def __init__(self, blocks):
        self.blocks = list(blocks)
        if not self.blocks:
            raise ValueError("`blocks` must hold at least one block")
        self.offset = self.blocks[0].theta.start
        position, u = self.offset, 0
        for block in self.blocks:
            if block.theta.start != position or block.start != u:
                raise ValueError("the blocks' theta slices and u positions must follow each other")
            position, u = block.theta.stop, block.stop
        self.n_theta = position - self.offset
        self.n_random = u
        self.diagonal = np.concatenate([block.diagonal for block in self.blocks])

    @classmethod
    def from_terms(cls, terms, *, by="group", offset=0):
        """The layout of a design's random terms.

        Parameters
        ----------
        terms : list of RandomTerm
        by : {"group", "term"}
            One block per grouping factor (its terms stacked, the factors in the order they first appear:
            the marginal likelihood's layout) or one per term (in the formula's order: lme4's).
        offset : int
            Where theta starts in the model's parameter vector.
        """
        if by not in ("group", "term"):
            raise ValueError(f"`by` must be 'group' or 'term', got {by!r}")
        if by == "term":
            stacks = [[term] for term in terms]
        else:
            groups = []
            for term in terms:
                if term.group not in groups:
                    groups.append(term.group)
            stacks = [[t for t in terms if t.group == g] for g in groups]
        blocks, position, u = [], offset, 0
        for stack in stacks:
            first = stack[0]
            block = CovarianceBlock(first.group, [c for t in stack for c in t.columns], [t.q for t in stack],
                                    [t.correlated for t in stack], first.n_levels, position, u, levels=first.levels,
                                    terms=stack)
            blocks.append(block)
            position, u = block.theta.stop, block.stop
        return cls(blocks)

    @classmethod
    def single(cls, group, columns, correlated, n_levels, *, offset=0, levels=None):
        """One block of ``len(columns)`` random effects, an unstructured (`correlated`) or diagonal factor."""
        return cls([CovarianceBlock(group, columns, [len(columns)], [correlated], n_levels, offset, 0,
                                    levels=levels)])

    @property
    def slice(self):
        """theta within the parameter vector."""
        return slice(self.offset, self.offset + self.n_theta)

    @property
    def slices(self):
        """Each block's theta within the parameter vector."""
        return [block.theta for block in self.blocks]

    @property
    def names(self):
        return [name for block in self.blocks for name in block.names()]

    @property
    def lower(self):
        """Lower bounds of theta: 0 on the diagonals, -inf elsewhere."""
        return np.where(self.diagonal, 0.0, -np.inf)

    @property
    def bounds(self):
        """(lower, upper) pairs of theta, None for no bound (scipy.optimize.minimize's form)."""
        return [(0.0, None) if diag else (None, None) for diag in self.diagonal]

    def start(self, diagonal=1.0):
        """Starting theta: `diagonal` on the diagonals (a scalar or one value per block), 0 elsewhere."""
        values = np.broadcast_to(np.asarray(diagonal, dtype=float), (len(self.blocks),))
        return np.concatenate([np.where(block.diagonal, value, 0.0) for block, value in zip(self.blocks, values)])

    def factors(self, params):
        """Each block's q x q factor from a parameter vector (theta at ``slice``)."""
        params = np.asarray(params, dtype=float)
        return [block.factor(params[block.theta]) for block in self.blocks]

    def lambda_indices(self):
        """The nonzero pattern of the sparse Lambda over all levels: rows, columns (in u) and, for each, the
        position of its value in the parameter vector (``Lambda[rows, cols] = params[which]``)."""
        rows, cols, which = [], [], []
        for block in self.blocks:
            base = block.start + np.arange(block.n_levels)[:, None] * block.q
            rows.append((base + block.rows).ravel())
            cols.append((base + block.cols).ravel())
            which.append(np.tile(np.arange(block.theta.start, block.theta.stop), block.n_levels))
        return np.concatenate(rows), np.concatenate(cols), np.concatenate(which)

    def __repr__(self):
        return f"ThetaLayout({self.n_theta} theta in {len(self.blocks)} block(s), u of {self.n_random})"
